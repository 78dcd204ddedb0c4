//go:build cgo && !noturbojpeg

package turbo

// libturbojpeg is linked statically (libturbojpeg.a comes with Debian's
// libturbojpeg0-dev), so binaries shipped to workers need no runtime
// package. Build with -tags noturbojpeg to use the pure-Go fallback instead.

/*
#cgo LDFLAGS: -l:libturbojpeg.a
#include <stdio.h>
#include <turbojpeg.h>

// gb_status is a call's outcome: code 0 (success), 1 (warning: the data is
// damaged) or 2 (error), and the message.
typedef struct {
	int code;
	char msg[200];
} gb_status;

// The message must be read on the thread that made the call: TurboJPEG keeps
// warnings in a thread-local buffer, and Go may move a goroutine between
// threads between two cgo calls. So each call and its message are one C
// call.
static void gb_fail(tjhandle h, gb_status *st) {
	st->code = tjGetErrorCode(h) == TJERR_WARNING ? 1 : 2;
	snprintf(st->msg, sizeof st->msg, "%s", tjGetErrorStr2(h));
}

static void gb_header(tjhandle h, const unsigned char *buf, unsigned long n,
		int *w, int *ht, int *cs, gb_status *st) {
	int subsamp;
	st->code = 0;
	if (tjDecompressHeader3(h, buf, n, w, ht, &subsamp, cs) != 0)
		gb_fail(h, st);
}

static void gb_decompress(tjhandle h, const unsigned char *buf,
		unsigned long n, unsigned char *dst, int w, int pitch, int ht,
		int pf, int flags, gb_status *st) {
	st->code = 0;
	if (tjDecompress2(h, buf, n, dst, w, pitch, ht, pf, flags) != 0)
		gb_fail(h, st);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"github.com/groundbeam/groundbeam/model/imageproc"
)

// Available reports whether this build decodes with libjpeg-turbo (false in
// the pure-Go fallback, built without cgo or with -tags noturbojpeg).
func Available() bool { return true }

// decodeScaled decodes with a TurboJPEG handle of its own: handles are not
// safe for concurrent use, and creating one costs microseconds against the
// milliseconds of a decode.
func decodeScaled(data []byte, minShort, maxPixels int) (*image.RGBA, int, int, error) {
	h := C.tjInitDecompress()
	if h == nil {
		return nil, 0, 0, errors.New("turbo: tjInitDecompress failed (out of memory?)")
	}
	defer C.tjDestroy(h)

	// The data and pixel buffers hold no Go pointers and libjpeg-turbo keeps
	// neither past the call, so the cgo pointer rules allow passing them.
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	size := C.ulong(len(data))
	var cw, ch, cs C.int
	var st C.gb_status
	if C.gb_header(h, src, size, &cw, &ch, &cs, &st); st.code != 0 {
		return nil, 0, 0, fmt.Errorf("%w: JPEG header: %s", imageproc.ErrFormat, message(&st))
	}
	w, ht := int(cw), int(ch)
	if err := checkHeader(w, ht, maxPixels); err != nil {
		return nil, 0, 0, err
	}

	pf := C.int(C.TJPF_RGBA)
	cmyk := cs == C.TJCS_CMYK || cs == C.TJCS_YCCK
	if cmyk {
		// libjpeg-turbo has no CMYK→RGB conversion: take CMYK and convert
		// here. Like image/jpeg, refuse CMYK without the Adobe marker (a
		// YCCK header implies one), whose polarity is unknown.
		if cs == C.TJCS_CMYK && !hasAdobeMarker(data) {
			return nil, 0, 0, fmt.Errorf("%w: 4-component JPEG without Adobe APP14 marker: unknown color model", imageproc.ErrFormat)
		}
		pf = C.TJPF_CMYK
	}

	d := scaleDenom(w, ht, minShort)
	sw, sh := scaled(w, d), scaled(ht, d)
	img := image.NewRGBA(image.Rect(0, 0, sw, sh))
	// Asking for exactly ⌈w/d⌉×⌈h/d⌉ makes libjpeg-turbo pick the factor
	// 1/d (or one giving the same size), never a larger output.
	if C.gb_decompress(h, src, size, (*C.uchar)(unsafe.Pointer(&img.Pix[0])),
		C.int(sw), C.int(img.Stride), C.int(sh), pf, flags, &st); st.code != 0 {
		// A warning (e.g. truncated data, the rest filled with gray) is
		// refused as image/jpeg refuses such data.
		return nil, 0, 0, fmt.Errorf("%w: JPEG: %s", imageproc.ErrFormat, message(&st))
	}
	if cmyk {
		invertedCMYKToRGBA(img.Pix)
	}
	return img, w, ht, nil
}

// flags for tjDecompress2. TJFLAG_FASTUPSAMPLE replicates subsampled chroma
// as image/jpeg does (libjpeg's default "fancy" triangle upsampling differs
// from it by up to tens of levels on chroma edges, which would change model
// inputs against the pure-Go path), and is faster. TJFLAG_LIMITSCANS refuses
// progressive JPEGs with absurd scan counts (a decoding-time bomb).
const flags = C.TJFLAG_FASTUPSAMPLE | C.TJFLAG_LIMITSCANS

// message describes a failed call.
func message(st *C.gb_status) string {
	kind := "libjpeg-turbo error"
	if st.code == 1 {
		kind = "libjpeg-turbo warning"
	}
	return kind + ": " + C.GoString(&st.msg[0])
}
