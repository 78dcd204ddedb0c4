package region

import (
	"context"

	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// readRows is how many rows are decoded at a time.
const readRows = 256

// readLabels reads every row of a committed labels file without the old
// embeddings, which it never decodes: memory holds boxes without them,
// and they are rewritten anyway.
func readLabels(ctx context.Context, name string) ([]schemas.LabelRow, error) {
	var rows []schemas.LabelRow
	err := sink.ReadRows(ctx, name, readRows, func(batch []schemas.LabelRowNoEmbeddings) error {
		for _, r := range batch {
			rows = append(rows, r.LabelRow())
		}
		return nil
	})
	return rows, err
}
