package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// urlRow is a row of an img2dataset output shard written without images
// (or of an img2dataset input list): the image is fetched from url.
type urlRow struct {
	Key          string  `parquet:"key"`
	URL          string  `parquet:"url"`
	Caption      *string `parquet:"caption,optional"`
	Status       string  `parquet:"status"`
	ErrorMessage *string `parquet:"error_message,optional"`
	Width        int64   `parquet:"width"`
	Height       int64   `parquet:"height"`
	SHA256       string  `parquet:"sha256"`
}

// bytesRow is a row of an img2dataset shard written with
// --output_format parquet: the encoded image is in the jpg column.
type bytesRow struct {
	Key     string  `parquet:"key"`
	Caption *string `parquet:"caption,optional"`
	URL     string  `parquet:"url"`
	Jpg     []byte  `parquet:"jpg,optional"`
	Status  string  `parquet:"status"`
	Width   int64   `parquet:"width"`
}

// hfImage is the image struct Hugging Face datasets write.
type hfImage struct {
	Bytes []byte `parquet:"bytes,optional"`
	Path  string `parquet:"path"`
}

type hfRow struct {
	Text  string  `parquet:"text"`
	Image hfImage `parquet:"image"`
}

type intKeyRow struct {
	Key     int64  `parquet:"key"`
	Caption string `parquet:"caption"`
	URL     string `parquet:"url"`
}

type noCaptionRow struct {
	Key string `parquet:"key"`
	URL string `parquet:"url"`
}

type noImageRow struct {
	Key     string `parquet:"key"`
	Caption string `parquet:"caption"`
}

type intCaptionRow struct {
	Caption int64  `parquet:"caption"`
	URL     string `parquet:"url"`
}

type repeatedCaptionRow struct {
	Caption []string `parquet:"caption,list"`
	URL     string   `parquet:"url"`
}

func str(s string) *string { return &s }

// writeParquet writes rows with small row groups and pages, so that a few
// rows already span several of each.
func writeParquet[T any](t testing.TB, rows []T, rowsPerGroup int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.MaxRowsPerRowGroup(rowsPerGroup), parquet.PageBufferSize(256))
	if _, err := w.Write(rows); err != nil {
		t.Fatalf("write parquet: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close parquet: %v", err)
	}
	return buf.Bytes()
}

func readParquet(t testing.TB, data []byte, base string, opts *Options) ([]Record, error) {
	t.Helper()
	var out []Record
	err := ReadParquet(bytes.NewReader(data), int64(len(data)), base, opts, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

func TestParquet(t *testing.T) {
	urlRows := []urlRow{
		{Key: "000000000", URL: "gs://bkt/img/0.jpg", Caption: str(" a red square "), Status: "success"},
		{Key: "000000001", URL: "img/1.jpg", Caption: str("a blue circle"), Status: "success"},
		{Key: "000000002", URL: "/abs/2.jpg", Caption: str("a green stripe"), Status: "success"},
		{Key: "000000003", URL: "http://example.com/3.jpg", Caption: str("fetch me"), Status: "success"},
		{Key: "", URL: "s3://b/4.jpg", Caption: str("no key"), Status: "success"},
		{Key: "000000005", URL: "s3://b/5.jpg", Caption: nil, Status: "success"},
		{Key: "000000006", URL: "s3://b/6.jpg", Caption: str("   "), Status: "success"},
		{Key: "000000007", URL: "s3://b/7.jpg", Caption: str("caf\xe9"), Status: "success"},
		{Key: "000000008", URL: "", Caption: str("no url"), Status: "success"},
		{Key: "000000009", URL: "https://x/9.jpg", Caption: str("failed"), Status: "failed_to_download", ErrorMessage: str("HTTP 404")},
		{Key: "000000010", URL: "s3://b/10.jpg", Caption: str(strings.Repeat("long ", 10)), Status: "success"},
	}
	urlWant := []want{
		{key: "000000000", member: "row 0", caption: "a red square", uri: "gs://bkt/img/0.jpg"},
		{key: "000000001", member: "row 1", caption: "a blue circle", uri: "s3://bkt/shards/img/1.jpg"},
		{key: "000000002", member: "row 2", caption: "a green stripe", uri: "s3://bkt/abs/2.jpg"},
		{key: "000000003", member: "row 3", problem: "url scheme not supported: http", hasCaption: true},
		{key: "row-4", member: "row 4", caption: "no key", uri: "s3://b/4.jpg"},
		{key: "000000005", problem: "no caption"},
		{key: "000000006", problem: "empty caption"},
		{key: "000000007", problem: "caption is not valid UTF-8"},
		{key: "000000008", problem: "no image and no url", hasCaption: true},
		{key: "000000009", problem: "img2dataset status failed_to_download: HTTP 404", hasCaption: true},
		{key: "000000010", problem: "caption larger than 32 bytes"},
	}
	img := func(i int) []byte { return []byte(fmt.Sprintf("\xff\xd8 jpeg %d %s", i, strings.Repeat("x", 100*i))) }
	bytesRows := []bytesRow{
		{Key: "a", Caption: str("cap a"), URL: "http://origin/a.jpg", Jpg: img(1), Status: "success"},
		{Key: "b", Caption: str("cap b"), URL: "http://origin/b.jpg", Jpg: img(2), Status: "success"},
		{Key: "c", Caption: str("cap c"), URL: "gs://fallback/c.jpg", Jpg: nil, Status: "success"},
		{Key: "d", Caption: str("cap d"), URL: "", Jpg: []byte{}, Status: "success"},
		{Key: "e", Caption: str("cap e"), URL: "http://origin/e.jpg", Jpg: nil, Status: "failed_to_download"},
		{Key: "f", Caption: str("cap f"), URL: "http://origin/f.jpg", Jpg: img(30), Status: "success"},
		{Key: "g", Caption: nil, URL: "http://origin/g.jpg", Jpg: img(3), Status: "success"},
		{Key: "h", Caption: str("cap h"), URL: "http://origin/h.jpg", Jpg: img(4), Status: "success"},
	}
	bytesWant := []want{
		{key: "a", caption: "cap a", image: string(img(1))},
		{key: "b", caption: "cap b", image: string(img(2))},
		{key: "c", caption: "cap c", uri: "gs://fallback/c.jpg"},
		{key: "d", problem: "no image and no url", hasCaption: true},
		{key: "e", problem: "img2dataset status failed_to_download", hasCaption: true},
		{key: "f", problem: "image larger than 2048 bytes", hasCaption: true},
		{key: "g", problem: "no caption"},
		{key: "h", member: "row 7", caption: "cap h", image: string(img(4))},
	}
	opts := &Options{MaxCaptionBytes: 32, MaxImageBytes: 2048}
	tests := []struct {
		name    string
		data    []byte
		base    string
		want    []want
		wantErr error
	}{
		{name: "url variant, 1 row per group", data: writeParquet(t, urlRows, 1), base: "s3://bkt/shards", want: urlWant},
		{name: "url variant, 4 rows per group", data: writeParquet(t, urlRows, 4), base: "s3://bkt/shards", want: urlWant},
		{name: "url variant, one group", data: writeParquet(t, urlRows, 1000), base: "s3://bkt/shards", want: urlWant},
		{name: "bytes variant, 3 rows per group", data: writeParquet(t, bytesRows, 3), want: bytesWant},
		{name: "bytes variant, one group", data: writeParquet(t, bytesRows, 100), want: bytesWant},
		{
			name: "local base",
			data: writeParquet(t, urlRows[:3], 2),
			base: "/data/shards",
			want: []want{
				{key: "000000000", caption: "a red square", uri: "gs://bkt/img/0.jpg"},
				{key: "000000001", caption: "a blue circle", uri: "/data/shards/img/1.jpg"},
				{key: "000000002", caption: "a green stripe", uri: "/abs/2.jpg"},
			},
		},
		{
			name: "hugging face image struct and text column",
			data: writeParquet(t, []hfRow{{Text: "t0", Image: hfImage{Bytes: []byte("png0"), Path: "0.png"}}, {Text: "t1", Image: hfImage{Path: "1.png"}}}, 1),
			want: []want{{key: "row-0", caption: "t0", image: "png0"}, {key: "row-1", problem: "no image and no url", hasCaption: true}},
		},
		{
			name: "integer keys",
			data: writeParquet(t, []intKeyRow{{Key: 12, Caption: "c", URL: "gs://b/12.jpg"}, {Key: -3, Caption: "d", URL: "gs://b/3.jpg"}}, 1),
			want: []want{{key: "12", caption: "c", uri: "gs://b/12.jpg"}, {key: "-3", caption: "d", uri: "gs://b/3.jpg"}},
		},
		{name: "no caption column", data: writeParquet(t, []noCaptionRow{{Key: "a", URL: "gs://b/a.jpg"}}, 1), wantErr: ErrSchema},
		{name: "no url or image column", data: writeParquet(t, []noImageRow{{Key: "a", Caption: "c"}}, 1), wantErr: ErrSchema},
		{name: "caption column not a string", data: writeParquet(t, []intCaptionRow{{Caption: 1, URL: "gs://b/a.jpg"}}, 1), wantErr: ErrSchema},
		{name: "repeated caption column", data: writeParquet(t, []repeatedCaptionRow{{Caption: []string{"a"}, URL: "gs://b/a.jpg"}}, 1), wantErr: ErrSchema},
		{name: "garbage", data: []byte("this is not a parquet file at all"), wantErr: ErrCorrupt},
		{name: "empty", data: nil, wantErr: ErrCorrupt},
		{
			name:    "truncated",
			data:    func() []byte { d := writeParquet(t, urlRows, 2); return d[:len(d)/2] }(),
			wantErr: ErrCorrupt,
		},
		{
			name: "bad footer length",
			data: func() []byte {
				d := bytes.Clone(writeParquet(t, urlRows, 2))
				copy(d[len(d)-8:], []byte{0xff, 0xff, 0xff, 0x7f})
				return d
			}(),
			wantErr: ErrCorrupt,
		},
		{
			name: "garbage footer",
			data: func() []byte {
				d := bytes.Clone(writeParquet(t, urlRows, 2))
				for i := len(d) - 200; i < len(d)-8; i++ {
					d[i] ^= 0x5a
				}
				return d
			}(),
			wantErr: ErrCorrupt,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readParquet(t, tc.data, tc.base, opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records, want %d: %s", len(got), len(tc.want), describe(got))
			}
			for i, w := range tc.want {
				checkRecord(t, i, got[i], w)
			}
		})
	}
}

// TestParquetStreams checks that several row groups and pages are really
// read, and that records are independent of the reader's buffers.
func TestParquetStreams(t *testing.T) {
	const n = 500
	rows := make([]bytesRow, n)
	for i := range rows {
		rows[i] = bytesRow{Key: fmt.Sprintf("%05d", i), Caption: str(fmt.Sprintf("caption %d", i)),
			Jpg: bytes.Repeat([]byte{byte(i)}, 100+i%7), Status: "success"}
	}
	data := writeParquet(t, rows, 64)
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if g := len(f.RowGroups()); g < 5 {
		t.Fatalf("test file has %d row groups, want several", g)
	}
	got, err := readParquet(t, data, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	for i, r := range got {
		w := rows[i]
		if r.Problem != "" || r.Key != w.Key || r.Caption != *w.Caption || !bytes.Equal(r.Image, w.Jpg) || r.Member != fmt.Sprintf("row %d", i) {
			t.Fatalf("record %d = %+v, want %+v", i, r, w)
		}
	}
}

func TestParquetCallbackError(t *testing.T) {
	data := writeParquet(t, []intKeyRow{{Key: 1, Caption: "a", URL: "a.jpg"}, {Key: 2, Caption: "b", URL: "b.jpg"}, {Key: 3, Caption: "c", URL: "c.jpg"}}, 1)
	stop := errors.New("stop")
	calls := 0
	err := ReadParquet(bytes.NewReader(data), int64(len(data)), "", nil, func(Record) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("err = %v after %d calls, want the callback's error after 2", err, calls)
	}
}

// failingReaderAt fails every read that touches [from, to).
type failingReaderAt struct {
	data     []byte
	from, to int64
	err      error
}

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, f.err
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func TestParquetReadError(t *testing.T) {
	rows := make([]urlRow, 200)
	for i := range rows {
		rows[i] = urlRow{Key: fmt.Sprint(i), URL: "gs://b/x.jpg", Caption: str("c"), Status: "success"}
	}
	data := writeParquet(t, rows, 20)
	ioErr := errors.New("connection reset")
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.Metadata()
	from := md.RowGroups[3].Columns[0].MetaData.DataPageOffset
	to := md.RowGroups[len(md.RowGroups)-1].Columns[0].MetaData.DataPageOffset
	var got int
	err = ReadParquet(&failingReaderAt{data: data, from: from, to: to, err: ioErr}, int64(len(data)), "", nil, func(Record) error {
		got++
		return nil
	})
	if !errors.Is(err, ioErr) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("error = %v, want the I/O error and not ErrCorrupt", err)
	}
	if got == 0 || got == len(rows) {
		t.Fatalf("read %d records before the error", got)
	}
}

func BenchmarkParquet(b *testing.B) {
	for _, variant := range []string{"url", "bytes"} {
		b.Run(variant, func(b *testing.B) {
			const n = 5000
			var data []byte
			if variant == "url" {
				rows := make([]urlRow, n)
				for i := range rows {
					rows[i] = urlRow{Key: fmt.Sprintf("%09d", i), URL: fmt.Sprintf("gs://bucket/images/%09d.jpg", i),
						Caption: str(fmt.Sprintf("a red square and a blue circle on a gray background, photo %d", i)),
						Status:  "success", Width: 320, Height: 240, SHA256: strings.Repeat("ab", 32)}
				}
				data = writeParquetDefault(b, rows)
			} else {
				img := bytes.Repeat([]byte("\xff\xd8 fake jpeg payload "), 50_000/20)
				rows := make([]bytesRow, n)
				for i := range rows {
					rows[i] = bytesRow{Key: fmt.Sprintf("%09d", i), URL: "http://origin/x.jpg", Jpg: img,
						Caption: str(fmt.Sprintf("a red square and a blue circle, photo %d", i)), Status: "success", Width: 320}
				}
				data = writeParquetDefault(b, rows)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				got := 0
				err := ReadParquet(bytes.NewReader(data), int64(len(data)), "gs://bucket/shards", nil, func(r Record) error {
					if r.Problem != "" {
						return errors.New(r.Problem)
					}
					got++
					return nil
				})
				if err != nil || got != n {
					b.Fatalf("read %d records: %v", got, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// writeParquetDefault writes rows in row groups of 1000 with the default
// page size, as a real shard would be.
func writeParquetDefault[T any](t testing.TB, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.MaxRowsPerRowGroup(1000))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquetDamagedPage(t *testing.T) {
	rows := make([]urlRow, 100)
	for i := range rows {
		rows[i] = urlRow{Key: fmt.Sprint(i), URL: "gs://b/x.jpg", Caption: str("c"), Status: "success"}
	}
	data := bytes.Clone(writeParquet(t, rows, 20))
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the page header of the caption column in row group 2.
	cols := f.Metadata().RowGroups[2].Columns
	off := cols[2].MetaData.DataPageOffset
	for i := off; i < off+16; i++ {
		data[i] = 0xff
	}
	var got []Record
	err = ReadParquet(bytes.NewReader(data), int64(len(data)), "", nil, func(r Record) error {
		got = append(got, r)
		return nil
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error = %v, want ErrCorrupt", err)
	}
	if len(got) != 40 {
		t.Fatalf("got %d records before the damage, want 40", len(got))
	}
}
