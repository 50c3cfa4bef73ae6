/*
 * raster.h - RGB pictures for analloc-trace's PNG output: pixels, lines,
 * rectangles, a 5x7 bitmap font (digits, lower case, a few capitals and
 * signs: what the labels use), and a line chart with axes and a legend.
 */
#ifndef ANALLOC_TRACE_RASTER_H
#define ANALLOC_TRACE_RASTER_H

#include <stddef.h>

struct rgb {
    unsigned char r, g, b;
};

struct image {
    size_t w, h;
    unsigned char *px; /* w * h * 3 bytes, rows top down */
};

void img_new(struct image *im, size_t w, size_t h); /* white */
void img_put(struct image *im, long x, long y, struct rgb c);
void img_rect(struct image *im, long x, long y, long w, long h, struct rgb c);
void img_line(struct image *im, double x0, double y0, double x1, double y1, struct rgb c);
/* Text with its top left at (x, y), 6 px a character at scale 1; the width. */
long img_text(struct image *im, long x, long y, const char *s, int scale, struct rgb c);
long img_text_width(const char *s, int scale);

struct img_series {
    const char *name;
    const double *x, *y; /* NaN y: a gap */
    size_t n;
};

/* A panel of line charts: the plot area at (left, top), w x h pixels, a
 * title above, x and y axes with ticks and numbers, grid lines, the series
 * in the chart colours, and a legend right of the plot (leave 170 px).
 * ymin == ymax: from the data. */
void img_panel(struct image *im, long left, long top, long w, long h, const char *title,
               const char *xlabel, const char *ylabel, double xmax, double ymin, double ymax,
               const struct img_series *s, size_t ns);

#endif
