/* Writes the 4-component JPEG fixtures of the turbo tests:
 *   cc -o /tmp/gencmyk gencmyk.c -ljpeg && /tmp/gencmyk
 * (needs libjpeg62-turbo-dev). Values are stored Adobe-inverted (255 = no
 * ink), as Photoshop writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

#define W 96
#define H 64

static void write_jpeg(const char *name, J_COLOR_SPACE cs, boolean adobe) {
  static JSAMPLE buf[W * H * 4];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      JSAMPLE *p = buf + 4 * (y * W + x);
      p[0] = 255 - (x * 255 / (W - 1));            /* cyan ramp */
      p[1] = 255 - (y * 255 / (H - 1));            /* magenta ramp */
      p[2] = 255 - ((x + y) * 255 / (W + H - 2));  /* yellow ramp */
      p[3] = 255 - ((x / 16 + y / 16) % 2 ? 96 : 0); /* black checks */
    }
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  FILE *f = fopen(name, "wb");
  if (!f) { perror(name); exit(1); }
  jpeg_stdio_dest(&c, f);
  c.image_width = W;
  c.image_height = H;
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, cs);
  c.write_Adobe_marker = adobe;
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < H) {
    JSAMPROW row = buf + 4 * W * c.next_scanline;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  fclose(f);
}

int main(void) {
  write_jpeg("cmyk.jpg", JCS_CMYK, TRUE);
  write_jpeg("ycck.jpg", JCS_YCCK, TRUE);
  write_jpeg("cmyk_noadobe.jpg", JCS_CMYK, FALSE);
  return 0;
}
