package schemas

import (
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Column is one column of a table as a reader sees it: nested fields are
// written parent.child, list elements parent[].
type Column struct {
	Name string
	// Type is string, int32, float, list<float>, list<struct>, ...
	Type string
}

// Columns lists the columns of a row type's Parquet schema, depth first.
func Columns(model any) []Column {
	return ColumnsOf(parquet.SchemaOf(model))
}

// ColumnsOf lists the columns of a Parquet schema, such as a file's.
func ColumnsOf(s *parquet.Schema) []Column {
	var out []Column
	for _, f := range s.Fields() {
		out = appendColumns(out, "", f)
	}
	return out
}

func appendColumns(out []Column, prefix string, f parquet.Field) []Column {
	name := prefix + f.Name()
	if f.Leaf() {
		return append(out, Column{Name: name, Type: leafType(f)})
	}
	if f.Type().String() == "LIST" {
		elem := f.Fields()[0].Fields()[0] // LIST → repeated group list → element
		if elem.Leaf() {
			return append(out, Column{Name: name, Type: "list<" + leafType(elem) + ">"})
		}
		out = append(out, Column{Name: name, Type: "list<struct>"})
		for _, c := range elem.Fields() {
			out = appendColumns(out, name+"[].", c)
		}
		return out
	}
	out = append(out, Column{Name: name, Type: "struct"})
	for _, c := range f.Fields() {
		out = appendColumns(out, name+".", c)
	}
	return out
}

func leafType(f parquet.Field) string {
	switch t := f.Type().String(); {
	case t == "STRING":
		return "string"
	case strings.HasPrefix(t, "INT(32"):
		return "int32"
	case strings.HasPrefix(t, "INT(64"):
		return "int64"
	default:
		return strings.ToLower(t)
	}
}
