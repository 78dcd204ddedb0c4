package turbo

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"testing"

	"github.com/groundbeam/groundbeam/model/imageproc"
)

// BenchmarkDecodeResize800 decodes photo-like quality-90 JPEGs and resizes
// them to the teacher's size (shortest edge 800, longest ≤ 1333), comparing
// in one run:
//
//   - imagejpeg+xdraw: the current path, image/jpeg, imageproc.ToRGBA and
//     imageproc.Resize (x/image/draw BiLinear);
//   - turbo+xdraw: DecodeScaled(minShort 800) and the same resize;
//   - turbo+Resize: DecodeScaled(minShort 800) and this package's Resize.
//
// Run single-threaded (-cpu 1) so img/s is per core. img/cpu-s divides by the
// process's CPU time instead of wall time: on a shared machine it is the
// steadier per-core figure.
func BenchmarkDecodeResize800(b *testing.B) {
	const short, long = 800, 1333
	for _, s := range [][2]int{{640, 480}, {1280, 960}, {1920, 1080}, {4000, 3000}} {
		data := photoJPEG(b, s[0], s[1])
		nw, nh := imageproc.ShortestEdge(s[0], s[1], short, long)
		name := fmt.Sprintf("%dx%d", s[0], s[1])
		for _, p := range []struct {
			name string
			run  func() error
		}{
			{"imagejpeg+xdraw", func() error {
				m, err := jpeg.Decode(bytes.NewReader(data))
				if err == nil {
					imageproc.Resize(imageproc.ToRGBA(m), nw, nh, false)
				}
				return err
			}},
			{"turbo+xdraw", func() error {
				m, _, _, err := DecodeScaled(data, short, 0)
				if err == nil {
					imageproc.Resize(m, nw, nh, false)
				}
				return err
			}},
			{"turbo+Resize", func() error {
				m, _, _, err := DecodeScaled(data, short, 0)
				if err == nil {
					Resize(m, nw, nh)
				}
				return err
			}},
		} {
			b.Run(name+"/"+p.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				cpu0 := cpuTime()
				for b.Loop() {
					if err := p.run(); err != nil {
						b.Fatal(err)
					}
				}
				cpu := cpuTime() - cpu0
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
				if cpu > 0 {
					b.ReportMetric(float64(b.N)/cpu.Seconds(), "img/cpu-s")
				}
			})
		}
	}
}

// BenchmarkStages times decode and resize apart, to see which dominates.
func BenchmarkStages(b *testing.B) {
	for _, s := range [][2]int{{640, 480}, {1920, 1080}, {4000, 3000}} {
		data := photoJPEG(b, s[0], s[1])
		nw, nh := imageproc.ShortestEdge(s[0], s[1], 800, 1333)
		name := fmt.Sprintf("%dx%d", s[0], s[1])
		goImg := goDecode(b, data)
		tImg, _, _, err := DecodeScaled(data, 800, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/decode=imagejpeg+ToRGBA", func(b *testing.B) {
			for b.Loop() {
				m, _ := jpeg.Decode(bytes.NewReader(data))
				imageproc.ToRGBA(m)
			}
		})
		b.Run(name+"/decode=turbo", func(b *testing.B) {
			for b.Loop() {
				DecodeScaled(data, 800, 0)
			}
		})
		b.Run(name+"/resize=xdraw-full", func(b *testing.B) {
			for b.Loop() {
				imageproc.Resize(goImg, nw, nh, false)
			}
		})
		b.Run(name+"/resize=xdraw-scaled", func(b *testing.B) {
			for b.Loop() {
				imageproc.Resize(tImg, nw, nh, false)
			}
		})
		b.Run(name+"/resize=Resize-scaled", func(b *testing.B) {
			for b.Loop() {
				Resize(tImg, nw, nh)
			}
		})
	}
}
