package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"

	"golang.org/x/image/webp"
)

// webpFrame is the first frame of an animated WebP.
type webpFrame struct {
	canvasW, canvasH int
	x, y, w, h       int
	// still is the frame as a WebP file of its own.
	still []byte
}

// riffChunks calls fn with each chunk of RIFF chunk data: its fourcc, its
// payload and the whole chunk (header and payload); odd payloads are
// followed by a pad byte. fn returns false to stop.
func riffChunks(b []byte, fn func(fourcc string, payload, whole []byte) bool) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return errors.New("truncated chunk header")
		}
		n := int64(binary.LittleEndian.Uint32(b[4:]))
		if n > int64(len(b)-8) {
			return fmt.Errorf("chunk %q of %d bytes overruns the file", b[:4], n)
		}
		if !fn(string(b[:4]), b[8:8+n], b[:8+n]) {
			return nil
		}
		b = b[8+n:]
		if n%2 == 1 && len(b) > 0 {
			b = b[1:]
		}
	}
	return nil
}

// animatedWebP returns the first frame of data when it is an animated WebP
// (a VP8X header with the animation flag), else nil.
func animatedWebP(data []byte) (*webpFrame, error) {
	if len(data) < 12+8+10 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" || string(data[12:16]) != "VP8X" {
		return nil, nil
	}
	const animationBit = 1 << 1
	if data[20]&animationBit == 0 {
		return nil, nil
	}
	body := data[12:]
	if n := int64(binary.LittleEndian.Uint32(data[4:])); n >= 4 && n-4 < int64(len(body)) {
		body = body[:n-4] // the RIFF size, when it is shorter than the data
	}
	f := &webpFrame{canvasW: int(u24(data[24:])) + 1, canvasH: int(u24(data[27:])) + 1}
	var anmf []byte
	err := riffChunks(body, func(cc string, p, _ []byte) bool {
		if cc == "ANMF" {
			anmf = p
			return false
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("animated WebP: %v", err)
	}
	if len(anmf) < 16 {
		return nil, errors.New("animated WebP without a frame")
	}
	f.x, f.y = 2*int(u24(anmf[0:])), 2*int(u24(anmf[3:]))
	f.w, f.h = int(u24(anmf[6:]))+1, int(u24(anmf[9:]))+1
	if f.x+f.w > f.canvasW || f.y+f.h > f.canvasH {
		return nil, fmt.Errorf("animated WebP: first frame %dx%d at (%d,%d) is outside the %dx%d canvas", f.w, f.h, f.x, f.y, f.canvasW, f.canvasH)
	}
	var alph, bits []byte // whole chunks, header included
	err = riffChunks(anmf[16:], func(cc string, p, whole []byte) bool {
		c := whole
		if len(p)%2 == 1 {
			c = append(c[:len(c):len(c)], 0)
		}
		switch cc {
		case "ALPH":
			if alph == nil {
				alph = c
			}
		case "VP8 ", "VP8L":
			bits = c
			return false
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("animated WebP: first frame: %v", err)
	}
	if bits == nil {
		return nil, errors.New("animated WebP: first frame has no VP8 or VP8L bitstream")
	}
	var still bytes.Buffer
	still.WriteString("RIFF\x00\x00\x00\x00WEBP")
	if alph != nil && string(bits[:4]) == "VP8 " {
		var x [18]byte
		copy(x[:], "VP8X")
		binary.LittleEndian.PutUint32(x[4:], 10)
		x[8] = 1 << 4 // alpha
		putU24(x[12:], uint32(f.w-1))
		putU24(x[15:], uint32(f.h-1))
		still.Write(x[:])
		still.Write(alph)
	}
	still.Write(bits)
	f.still = still.Bytes()
	binary.LittleEndian.PutUint32(f.still[4:], uint32(len(f.still)-8))
	return f, nil
}

// decode decodes the frame, checking its bitstream's size against the
// frame header before anything is allocated, and places it on the canvas.
func (f *webpFrame) decode() (*image.RGBA, error) {
	cfg, err := webp.DecodeConfig(bytes.NewReader(f.still))
	if err != nil {
		return nil, fmt.Errorf("animated WebP: first frame: %v", err)
	}
	if cfg.Width != f.w || cfg.Height != f.h {
		return nil, fmt.Errorf("animated WebP: first frame's bitstream is %dx%d, its header says %dx%d", cfg.Width, cfg.Height, f.w, f.h)
	}
	img, err := webp.Decode(bytes.NewReader(f.still))
	if err != nil {
		return nil, fmt.Errorf("animated WebP: first frame: %v", err)
	}
	if f.x == 0 && f.y == 0 && f.w == f.canvasW && f.h == f.canvasH {
		return ToRGBA(img), nil
	}
	dst := image.NewRGBA(image.Rect(0, 0, f.canvasW, f.canvasH))
	draw.Draw(dst, image.Rect(f.x, f.y, f.x+f.w, f.y+f.h), img, img.Bounds().Min, draw.Src)
	return dst, nil
}

func u24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

func putU24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
