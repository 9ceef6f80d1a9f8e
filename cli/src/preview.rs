//! The preview picture of a segmentation (`nni demo`'s `demo.png`, `nni segment --png`): three
//! orthogonal slices of the image in grey, the mask as a translucent fill with an opaque contour
//! (on its 1-voxel in-slice boundary), the prompts drawn where they were given (points as crosses,
//! boxes as rectangles on the slices they cross, scribbles as their voxels, lassos as their
//! outline; positive in green, negative in magenta), each slice labelled with its axis and index,
//! and a legend below. Small volumes are enlarged (nearest neighbour) so the picture is legible.
//!
//! Axes are the engine's: `(a0, a1, a2)` = `(k, j, i)`, buffers in C order. A slice is named by
//! the axis it fixes: axial (k), coronal (j), sagittal (i), as for an image in the usual NIfTI
//! orientation.
//!
//! Text: the `font8x8` crate (MIT; the public-domain IBM PC 8x8 glyphs), used without its default
//! features for `legacy::BASIC_LEGACY`, a const table of the 128 ASCII characters. It is tiny,
//! has no dependencies and nothing to load at run time, and as a table of constants needs no
//! upkeep (0.3.1 is from 2020). A font rasteriser (`ab_glyph`, `fontdue`) would need a TTF file
//! in the binary for a few short labels; a glyph table written here would be code to review for
//! no gain.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use nninteractive_engine::error::{Error, Result};
use nninteractive_engine::geometry::{linear, nonzero_bbox, Shape};

/// An RGB colour.
pub type Rgb = [u8; 3];

/// The mask's colour: its contour, and its fill blended over the image.
pub const MASK: Rgb = [255, 170, 0];
/// How much of [`MASK`] the fill inside the contour takes (the rest is the grey image).
pub const MASK_ALPHA: f32 = 0.4;
/// Positive prompts.
pub const POSITIVE: Rgb = [0, 220, 70];
/// Negative prompts.
pub const NEGATIVE: Rgb = [255, 40, 210];
/// Labels and legend text.
pub const TEXT: Rgb = [235, 235, 235];
/// The picture's background, around and between the slices.
pub const BACKGROUND: Rgb = [44, 44, 44];
/// The one-pixel frame around each slice, which sets a dark image off the background.
pub const FRAME: Rgb = [112, 112, 112];
/// The dark outline around prompt marks, so they stand out on bright and dark image alike.
pub const HALO: Rgb = [0, 0, 0];

/// Slices are enlarged (nearest neighbour) until the tallest is at least this many pixels.
const MIN_PANEL_HEIGHT: usize = 256;
/// The largest enlargement.
const MAX_ZOOM: usize = 16;
/// Pixels around the picture's content.
const MARGIN: usize = 8;
/// Pixels between two slices.
const GAP: usize = 12;
/// Pixels between a label and its slice, and around the legend's text.
const PAD: usize = 5;

/// A prompt as the preview draws it, in engine axes `(a0, a1, a2)` = `(k, j, i)`.
pub enum Mark<'a> {
    /// A point prompt at a voxel.
    Point {
        /// The voxel `(a0, a1, a2)`.
        at: [i64; 3],
        /// Positive (include) or negative (exclude).
        positive: bool,
    },
    /// A box prompt, half-open `[lo, hi)` per axis (one voxel thick on one axis for a 2D box).
    Box {
        /// Inclusive lower corner.
        lo: [i64; 3],
        /// Exclusive upper corner.
        hi: [i64; 3],
        /// Positive (include) or negative (exclude).
        positive: bool,
    },
    /// A scribble: a 0/1 volume of the image's shape, drawn as its voxels.
    Scribble {
        /// The scribble's voxels (non-zero), C order.
        mask: &'a [u8],
        /// Positive (include) or negative (exclude).
        positive: bool,
    },
    /// A lasso: a 0/1 volume of the image's shape (the filled lasso), drawn as its outline.
    Lasso {
        /// The lasso's voxels (non-zero), C order.
        mask: &'a [u8],
        /// Positive (include) or negative (exclude).
        positive: bool,
    },
}

impl Mark<'_> {
    fn colour(&self) -> Rgb {
        let positive = match self {
            Mark::Point { positive, .. }
            | Mark::Box { positive, .. }
            | Mark::Scribble { positive, .. }
            | Mark::Lasso { positive, .. } => *positive,
        };
        if positive {
            POSITIVE
        } else {
            NEGATIVE
        }
    }

    /// How well each slice along `axis` shows this mark (0: not at all): a point 1 on its
    /// slice; a box 2.5 on the slices of its thinnest axis (where it is drawn as the rectangle it
    /// was given) and 0.5 on the others; a scribble or lasso 1 plus its share of voxels on each
    /// slice it has voxels in, 2.5 plus that share along its thinnest axis.
    fn coverage(&self, shape: Shape, axis: usize) -> Vec<f32> {
        let n = shape[axis];
        let mut cov = vec![0.0f32; n];
        match self {
            Mark::Point { at, .. } => {
                if (0..3).all(|d| at[d] >= 0 && (at[d] as usize) < shape[d]) {
                    cov[at[axis] as usize] = 1.0;
                }
            }
            Mark::Box { lo, hi, .. } => {
                let lo = [0, 1, 2].map(|d| lo[d].clamp(0, shape[d] as i64) as usize);
                let hi = [0, 1, 2].map(|d| hi[d].clamp(0, shape[d] as i64) as usize);
                if (0..3).any(|d| lo[d] >= hi[d]) {
                    return cov;
                }
                let thinnest = (0..3).min_by_key(|&d| hi[d] - lo[d]).unwrap_or(0);
                let w = if thinnest == axis { 2.5 } else { 0.5 };
                cov[lo[axis]..hi[axis]].iter_mut().for_each(|c| *c = w);
            }
            Mark::Scribble { mask, .. } | Mark::Lasso { mask, .. } => {
                let Some(b) = nonzero_bbox(mask, shape, |v| v != 0) else {
                    return cov;
                };
                let thinnest = (0..3).min_by_key(|&d| b.hi[d] - b.lo[d]).unwrap_or(0);
                let mut counts = vec![0usize; n];
                let mut total = 0usize;
                for (idx, &v) in mask.iter().enumerate() {
                    if v != 0 {
                        let at = match axis {
                            0 => idx / (shape[1] * shape[2]),
                            1 => (idx / shape[2]) % shape[1],
                            _ => idx % shape[2],
                        };
                        counts[at] += 1;
                        total += 1;
                    }
                }
                let base = if thinnest == axis { 2.5 } else { 1.0 };
                for (c, &k) in cov.iter_mut().zip(&counts) {
                    if k > 0 {
                        *c = base + k as f32 / total as f32;
                    }
                }
            }
        }
        cov
    }
}

/// Pick the three slices to show, `[a0, a1, a2]`, so that each prompt is seen on at least one
/// of them where it can be. Axis by axis: the slice showing the most prompts not yet shown (by
/// [`Mark`]'s weights: a 2D box or a lasso is best seen on its own plane, where it outweighs two
/// points), else the one showing the most prompts; among equals, the one with the most mask
/// voxels, then the one nearest the mask's middle (the image's middle without a mask).
pub fn choose_slices(shape: Shape, mask: &[u8], marks: &[Mark]) -> [usize; 3] {
    let centre = match nonzero_bbox(mask, shape, |v| v != 0) {
        Some(b) => [0, 1, 2].map(|d| ((b.lo[d] + b.hi[d] - 1) / 2) as usize),
        None => [shape[0] / 2, shape[1] / 2, shape[2] / 2],
    };
    // mask voxels on each slice of each axis
    let mut area = shape.map(|n| vec![0usize; n]);
    for (idx, &v) in mask.iter().enumerate() {
        if v != 0 {
            area[0][idx / (shape[1] * shape[2])] += 1;
            area[1][(idx / shape[2]) % shape[1]] += 1;
            area[2][idx % shape[2]] += 1;
        }
    }
    let mut shown = vec![false; marks.len()];
    let mut slices = centre;
    for axis in 0..3 {
        let cov: Vec<Vec<f32>> = marks.iter().map(|m| m.coverage(shape, axis)).collect();
        let score = |s: usize, only_unshown: bool| -> f32 {
            cov.iter()
                .zip(&shown)
                .filter(|(_, &sh)| !(only_unshown && sh))
                .map(|(c, _)| c[s])
                .sum()
        };
        let unshown_left = (0..shape[axis]).any(|s| score(s, true) > 0.0);
        let key = |s: usize| (score(s, unshown_left), area[axis][s]);
        let best = (0..shape[axis]).max_by(|&a, &b| {
            let ((sa, aa), (sb, ab)) = (key(a), key(b));
            sa.total_cmp(&sb)
                .then(aa.cmp(&ab))
                .then(centre[axis].abs_diff(b).cmp(&centre[axis].abs_diff(a)))
        });
        if let Some(s) = best {
            slices[axis] = s;
            for (sh, c) in shown.iter_mut().zip(&cov) {
                *sh |= c[s] > 0.0;
            }
        }
    }
    slices
}

/// One slice of the picture: which it is, and where its voxels are.
pub struct Panel {
    /// The axis the slice fixes (0: axial, 1: coronal, 2: sagittal).
    pub axis: usize,
    /// The slice's index on that axis.
    pub index: usize,
    /// The label drawn above it, e.g. `axial k=40`.
    pub label: String,
    /// The left pixel column of the slice.
    pub x0: usize,
    /// The top pixel row of the slice.
    pub y0: usize,
    /// The top pixel row of the label (its strip ends at `y0`).
    pub label_y0: usize,
    /// Voxel rows shown.
    pub rows: usize,
    /// Voxel columns shown.
    pub cols: usize,
    /// Pixels per voxel side.
    pub zoom: usize,
}

/// For the slice fixing an axis: (the axis down its rows, the axis along its columns, whether
/// rows run from the axis's end, so that a0 points up as in a viewer's coronal and sagittal).
const PANEL_AXES: [(usize, usize, bool); 3] = [(1, 2, false), (0, 2, true), (0, 1, true)];

impl Panel {
    /// The voxel `(a0, a1, a2)` shown at a row and column of the slice.
    pub fn voxel_at(&self, row: usize, col: usize) -> [usize; 3] {
        let (ra, ca, flip) = PANEL_AXES[self.axis];
        let mut a = [0; 3];
        a[self.axis] = self.index;
        a[ra] = if flip { self.rows - 1 - row } else { row };
        a[ca] = col;
        a
    }

    /// The pixel `(x, y)` at the middle of a voxel's square, for a voxel on this slice.
    pub fn pixel_of(&self, a: [usize; 3]) -> Option<(usize, usize)> {
        let (ra, ca, flip) = PANEL_AXES[self.axis];
        if a[self.axis] != self.index || a[ra] >= self.rows || a[ca] >= self.cols {
            return None;
        }
        let row = if flip { self.rows - 1 - a[ra] } else { a[ra] };
        Some((
            self.x0 + a[ca] * self.zoom + self.zoom / 2,
            self.y0 + row * self.zoom + self.zoom / 2,
        ))
    }

    /// The half-open pixel ranges `(x, y)` a half-open voxel range covers on this slice
    /// (unclipped: a box past the image lies partly outside the slice).
    fn pixel_span(&self, lo: [i64; 3], hi: [i64; 3]) -> ([i64; 2], [i64; 2]) {
        let (ra, ca, flip) = PANEL_AXES[self.axis];
        let z = self.zoom as i64;
        let (r0, r1) = if flip {
            (self.rows as i64 - hi[ra], self.rows as i64 - lo[ra])
        } else {
            (lo[ra], hi[ra])
        };
        (
            [self.x0 as i64 + lo[ca] * z, self.x0 as i64 + hi[ca] * z],
            [self.y0 as i64 + r0 * z, self.y0 as i64 + r1 * z],
        )
    }
}

/// A rendered picture: RGB pixels, row by row, and its slices.
pub struct Picture {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes, RGB, top row first.
    pub rgb: Vec<u8>,
    /// The three slices, left to right: axial, coronal, sagittal.
    pub panels: [Panel; 3],
}

impl Picture {
    /// The colour at pixel `(x, y)`.
    pub fn pixel(&self, x: usize, y: usize) -> Rgb {
        let o = (y * self.width + x) * 3;
        [self.rgb[o], self.rgb[o + 1], self.rgb[o + 2]]
    }

    /// Colour a pixel if it lies within `clip` (`[x0, y0, x1, y1)`).
    fn put(&mut self, x: i64, y: i64, c: Rgb, clip: [usize; 4]) {
        if x >= clip[0] as i64 && y >= clip[1] as i64 && x < clip[2] as i64 && y < clip[3] as i64 {
            let o = (y as usize * self.width + x as usize) * 3;
            self.rgb[o..o + 3].copy_from_slice(&c);
        }
    }

    /// Fill the rectangle `[x0, x1) x [y0, y1)`, clipped.
    fn fill(&mut self, x: [i64; 2], y: [i64; 2], c: Rgb, clip: [usize; 4]) {
        for yy in y[0]..y[1] {
            for xx in x[0]..x[1] {
                self.put(xx, yy, c, clip);
            }
        }
    }

    /// The outline, `t` pixels thick inside the rectangle `[x0, x1) x [y0, y1)`, clipped.
    fn frame(&mut self, x: [i64; 2], y: [i64; 2], t: i64, c: Rgb, clip: [usize; 4]) {
        self.fill([x[0], x[1]], [y[0], y[0] + t], c, clip);
        self.fill([x[0], x[1]], [y[1] - t, y[1]], c, clip);
        self.fill([x[0], x[0] + t], [y[0], y[1]], c, clip);
        self.fill([x[1] - t, x[1]], [y[0], y[1]], c, clip);
    }

    /// A `+` centred on `(x, y)`: arms `arm` pixels long, `2 * half + 1` thick, with a dark
    /// outline one pixel wide.
    fn cross(&mut self, x: i64, y: i64, arm: i64, half: i64, c: Rgb, clip: [usize; 4]) {
        let (a, h) = (arm + 1, half + 1);
        self.fill([x - a, x + a + 1], [y - h, y + h + 1], HALO, clip);
        self.fill([x - h, x + h + 1], [y - a, y + a + 1], HALO, clip);
        self.fill([x - arm, x + arm + 1], [y - half, y + half + 1], c, clip);
        self.fill([x - half, x + half + 1], [y - arm, y + arm + 1], c, clip);
    }

    /// Write `text` with its top-left at `(x, y)`, each font pixel `scale` pixels wide; returns
    /// the x after it.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, c: Rgb) -> usize {
        let clip = [0, 0, self.width, self.height];
        let mut x = x;
        for ch in text.chars() {
            let glyph = font8x8::legacy::BASIC_LEGACY[(ch as usize).min(127)];
            for (gy, bits) in glyph.iter().enumerate() {
                for gx in 0..8 {
                    // bit 0 is the glyph's leftmost pixel
                    if bits & (1 << gx) != 0 {
                        let px = (x + gx * scale) as i64;
                        let py = (y + gy * scale) as i64;
                        self.fill([px, px + scale as i64], [py, py + scale as i64], c, clip);
                    }
                }
            }
            x += 8 * scale;
        }
        x
    }
}

/// Slice names by the axis they fix, and the voxel index letter of that axis.
const AXIS_NAMES: [(&str, char); 3] = [("axial", 'k'), ("coronal", 'j'), ("sagittal", 'i')];

/// Width in pixels of `text` at a font scale.
fn text_width(text: &str, scale: usize) -> usize {
    text.chars().count() * 8 * scale
}

/// The legend's entries: the mask, then a positive and a negative prompt.
const LEGEND: [&str; 3] = ["mask", "positive", "negative"];

/// Width of the legend at a font scale: a swatch, a space and the word, per entry.
fn legend_width(scale: usize) -> usize {
    LEGEND
        .iter()
        .map(|w| 8 * scale + 6 + text_width(w, scale) + 16)
        .sum()
}

/// The image's window: its 1st and 99th percentiles (on a sample of at most about 100,000
/// voxels).
fn window(image: &[f32]) -> (f32, f32) {
    let mut sorted: Vec<f32> = image
        .iter()
        .step_by((image.len() / 100_000).max(1))
        .copied()
        .collect();
    if sorted.is_empty() {
        return (0.0, 1.0);
    }
    sorted.sort_by(|a, b| a.total_cmp(b));
    let lo = sorted[sorted.len() / 100];
    let hi = sorted[(sorted.len() * 99) / 100].max(lo + 1e-6);
    (lo, hi)
}

/// `a` blended with `alpha` of `b`.
fn blend(a: Rgb, b: Rgb, alpha: f32) -> Rgb {
    [0, 1, 2].map(|i| (a[i] as f32 * (1.0 - alpha) + b[i] as f32 * alpha).round() as u8)
}

/// Paint the contour of a region of a slice (`inside`, row by row): in each voxel of its
/// in-slice boundary, the pixels along each side (and corner) that faces a voxel outside the
/// region or the slice's edge, 3 pixels deep (the whole voxel up to 3 pixels per voxel), so the
/// line keeps one width however much the slice is enlarged.
fn contour(pic: &mut Picture, pi: usize, inside: &[bool], c: Rgb) {
    let p = &pic.panels[pi];
    let (rows, cols, x0, y0) = (p.rows as i64, p.cols as i64, p.x0 as i64, p.y0 as i64);
    let z = p.zoom as i64;
    let clip = [p.x0, p.y0, p.x0 + p.cols * p.zoom, p.y0 + p.rows * p.zoom];
    let t = z.min(3);
    let is_in = |r: i64, c: i64| {
        r >= 0 && c >= 0 && r < rows && c < cols && inside[(r * cols + c) as usize]
    };
    for r in 0..rows {
        for col in 0..cols {
            if !is_in(r, col) {
                continue;
            }
            let (x, y) = (x0 + col * z, y0 + r * z);
            // the pixel spans of the voxel's near, middle-and-far, and far bands on each axis
            let near = |v: i64| [v, v + t];
            let far = |v: i64| [v + z - t, v + z];
            let whole = |v: i64| [v, v + z];
            for (dr, dc) in [
                (-1, 0),
                (1, 0),
                (0, -1),
                (0, 1),
                (-1, -1),
                (-1, 1),
                (1, -1),
                (1, 1),
            ] {
                if is_in(r + dr, col + dc) {
                    continue;
                }
                let xs = match dc {
                    -1 => near(x),
                    1 => far(x),
                    _ => whole(x),
                };
                let ys = match dr {
                    -1 => near(y),
                    1 => far(y),
                    _ => whole(y),
                };
                pic.fill(xs, ys, c, clip);
            }
        }
    }
}

/// Render the picture: the slices `slices` (`[a0, a1, a2]`, each clamped to the image) of
/// `image` with `mask` and `marks` over it. `image` and `mask` are C order over `shape`.
pub fn render(
    image: &[f32],
    mask: &[u8],
    shape: Shape,
    slices: [usize; 3],
    marks: &[Mark],
) -> Picture {
    let (lo, hi) = window(image);
    let dims = [0, 1, 2].map(|axis| {
        let (ra, ca, _) = PANEL_AXES[axis];
        (shape[ra], shape[ca])
    });
    let tallest = dims.iter().map(|d| d.0).max().unwrap_or(1).max(1);
    let zoom = MIN_PANEL_HEIGHT.div_ceil(tallest).clamp(1, MAX_ZOOM);
    let labels = [0, 1, 2].map(|axis| {
        let (name, letter) = AXIS_NAMES[axis];
        let index = slices[axis].min(shape[axis].saturating_sub(1));
        (format!("{name} {letter}={index}"), index)
    });
    // labels twice the font's size where every one fits above its slice
    let label_scale = if labels
        .iter()
        .zip(&dims)
        .all(|((l, _), d)| text_width(l, 2) <= d.1 * zoom)
    {
        2
    } else {
        1
    };
    let label_h = 8 * label_scale + PAD;
    let panels_w: usize = dims.iter().map(|d| d.1 * zoom).sum::<usize>() + 2 * GAP;
    let legend_scale = if legend_width(2) <= panels_w { 2 } else { 1 };
    let legend_h = 8 * legend_scale + 2 * PAD;
    let width = panels_w + 2 * MARGIN;
    let height = MARGIN + label_h + tallest * zoom + legend_h + MARGIN;
    let mut x = MARGIN;
    let panels = [0, 1, 2].map(|axis| {
        let (rows, cols) = dims[axis];
        let p = Panel {
            axis,
            index: labels[axis].1,
            label: labels[axis].0.clone(),
            x0: x,
            y0: MARGIN + label_h,
            label_y0: MARGIN,
            rows,
            cols,
            zoom,
        };
        x += cols * zoom + GAP;
        p
    });
    let mut pic = Picture {
        width,
        height,
        rgb: BACKGROUND.repeat(width * height),
        panels,
    };
    for pi in 0..3 {
        let p = &pic.panels[pi];
        let x = [p.x0 as i64 - 1, (p.x0 + p.cols * zoom) as i64 + 1];
        let y = [p.y0 as i64 - 1, (p.y0 + p.rows * zoom) as i64 + 1];
        pic.frame(x, y, 1, FRAME, [0, 0, width, height]);
        draw_panel(&mut pic, pi, image, mask, shape, (lo, hi), marks);
    }
    for pi in 0..3 {
        let (x0, y0) = (pic.panels[pi].x0, pic.panels[pi].label_y0);
        let label = pic.panels[pi].label.clone();
        pic.text(x0, y0, &label, label_scale, TEXT);
    }
    draw_legend(&mut pic, legend_scale, height - MARGIN - legend_h + PAD);
    pic
}

/// Draw one slice: grey image, mask fill and contour, then the prompts on it.
fn draw_panel(
    pic: &mut Picture,
    pi: usize,
    image: &[f32],
    mask: &[u8],
    shape: Shape,
    (lo, hi): (f32, f32),
    marks: &[Mark],
) {
    let p = &pic.panels[pi];
    let (rows, cols, zoom, x0, y0) = (p.rows, p.cols, p.zoom, p.x0, p.y0);
    let clip = [x0, y0, x0 + cols * zoom, y0 + rows * zoom];
    let idx: Vec<usize> = (0..rows * cols)
        .map(|n| {
            let a = p.voxel_at(n / cols, n % cols);
            linear(shape, a[0], a[1], a[2])
        })
        .collect();
    let region = |m: &[u8]| -> Vec<bool> { idx.iter().map(|&i| m[i] != 0).collect() };
    let inside = region(mask);
    let square = |pic: &mut Picture, n: usize, c: Rgb| {
        let (x, y) = (
            (x0 + (n % cols) * zoom) as i64,
            (y0 + (n / cols) * zoom) as i64,
        );
        pic.fill([x, x + zoom as i64], [y, y + zoom as i64], c, clip);
    };
    for (n, &i) in idx.iter().enumerate() {
        let g = (((image[i] - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8;
        let c = if inside[n] {
            blend([g; 3], MASK, MASK_ALPHA)
        } else {
            [g; 3]
        };
        square(pic, n, c);
    }
    contour(pic, pi, &inside, MASK);
    // strokes first, then boxes, then points on top
    for m in marks {
        match m {
            Mark::Scribble { mask, .. } => {
                for (n, on) in region(mask).into_iter().enumerate() {
                    if on {
                        square(pic, n, m.colour());
                    }
                }
            }
            Mark::Lasso { mask, .. } => contour(pic, pi, &region(mask), m.colour()),
            _ => {}
        }
    }
    let p = &pic.panels[pi];
    let mut boxes = Vec::new();
    let mut points = Vec::new();
    for m in marks {
        match m {
            Mark::Box { lo, hi, .. } => {
                let s = p.index as i64;
                if lo[p.axis] <= s && s < hi[p.axis] {
                    boxes.push((p.pixel_span(*lo, *hi), m.colour()));
                }
            }
            Mark::Point { at, .. } if at.iter().all(|&v| v >= 0) => {
                if let Some(xy) = p.pixel_of(at.map(|v| v as usize)) {
                    points.push((xy, m.colour()));
                }
            }
            _ => {}
        }
    }
    for ((mut x, mut y), c) in boxes {
        // a box one voxel thick across this slice (a 2D box seen from the side) is a line
        // through the middle of its voxels, 3 pixels wide
        for span in [&mut x, &mut y] {
            if span[1] - span[0] <= zoom as i64 {
                let mid = (span[0] + span[1]) / 2;
                *span = [mid - 1, mid + 2];
            }
        }
        // a dark line on both sides of a 2-pixel frame
        pic.frame([x[0] - 1, x[1] + 1], [y[0] - 1, y[1] + 1], 4, HALO, clip);
        pic.frame(x, y, 2, c, clip);
    }
    let arm = (2 * zoom + 4) as i64;
    for ((x, y), c) in points {
        pic.cross(x as i64, y as i64, arm, 1, c, clip);
    }
}

/// The legend along the bottom: a mask swatch, a positive and a negative cross, each named.
fn draw_legend(pic: &mut Picture, scale: usize, y: usize) {
    let clip = [0, 0, pic.width, pic.height];
    let side = (8 * scale) as i64;
    let mut x = MARGIN;
    for (n, word) in LEGEND.iter().enumerate() {
        let (sx, sy) = (x as i64, y as i64);
        if n == 0 {
            let grey = [128; 3];
            pic.fill(
                [sx, sx + side],
                [sy, sy + side],
                blend(grey, MASK, MASK_ALPHA),
                clip,
            );
            pic.frame([sx, sx + side], [sy, sy + side], scale as i64, MASK, clip);
        } else {
            let c = if n == 1 { POSITIVE } else { NEGATIVE };
            let (cx, cy) = (sx + side / 2, sy + side / 2);
            pic.cross(cx, cy, side / 2 - 1, (scale as i64 - 1).max(0), c, clip);
        }
        x = pic.text(x + 8 * scale + 6, y, word, scale, TEXT) + 16;
    }
}

/// Write a picture as an RGB PNG.
pub fn write_png(path: &Path, pic: &Picture) -> Result<()> {
    let io = |e: &dyn std::fmt::Display| Error::Io(format!("{}: {e}", path.display()));
    let f = File::create(path).map_err(|e| io(&e))?;
    let mut enc = png::Encoder::new(BufWriter::new(f), pic.width as u32, pic.height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| io(&e))?;
    w.write_image_data(&pic.rgb).map_err(|e| io(&e))
}

/// Render the preview of a segmentation (slices chosen by [`choose_slices`]) and write it as a
/// PNG; returns the picture (its size and slices).
pub fn write_preview_png(
    path: &Path,
    image: &[f32],
    mask: &[u8],
    shape: Shape,
    marks: &[Mark],
) -> Result<Picture> {
    let slices = choose_slices(shape, mask, marks);
    let pic = render(image, mask, shape, slices, marks);
    write_png(path, &pic)?;
    Ok(pic)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape (a0, a1, a2), a mask block, and an image bright on the block, dark elsewhere.
    fn case() -> (Shape, Vec<f32>, Vec<u8>) {
        let shape = [8, 10, 12];
        let mut image = vec![0.0f32; 8 * 10 * 12];
        let mut mask = vec![0u8; image.len()];
        for a0 in 2..6 {
            for a1 in 3..8 {
                for a2 in 3..9 {
                    mask[linear(shape, a0, a1, a2)] = 1;
                }
            }
        }
        for (i, v) in image.iter_mut().enumerate() {
            *v = if mask[i] != 0 { 100.0 } else { (i % 7) as f32 };
        }
        (shape, image, mask)
    }

    #[test]
    fn prompts_mask_and_labels_are_drawn() {
        let (shape, image, mask) = case();
        let marks = [
            Mark::Point {
                at: [4, 1, 1],
                positive: true,
            },
            Mark::Point {
                at: [4, 6, 10],
                positive: false,
            },
        ];
        let pic = render(&image, &mask, shape, [4, 5, 6], &marks);
        assert_eq!(pic.rgb.len(), pic.width * pic.height * 3);
        let axial = &pic.panels[0];
        assert_eq!(axial.label, "axial k=4");
        assert_eq!(pic.panels[1].label, "coronal j=5");
        assert_eq!(pic.panels[2].label, "sagittal i=6");
        assert!(axial.zoom >= 2, "a small volume is enlarged");

        // the points' markers, at their voxels and along their arms
        let (x, y) = axial.pixel_of([4, 1, 1]).unwrap();
        assert_eq!(pic.pixel(x, y), POSITIVE);
        assert_eq!(pic.pixel(x + axial.zoom, y), POSITIVE);
        assert_eq!(pic.pixel(x, y + axial.zoom), POSITIVE);
        let (x, y) = axial.pixel_of([4, 6, 10]).unwrap();
        assert_eq!(pic.pixel(x, y), NEGATIVE);
        assert_eq!(pic.pixel(x - axial.zoom, y), NEGATIVE);
        // not on the other slices (the point is off them)
        assert!(pic.panels[1].pixel_of([4, 1, 1]).is_none());

        // the contour on the mask's edge (a1 = 3 is the block's first row: the top side of its
        // voxels), 3 pixels deep, then the fill; a blend inside
        let z = axial.zoom;
        let (x, y) = axial.pixel_of([4, 3, 5]).unwrap();
        let top = y - z / 2;
        for dy in 0..3 {
            assert_eq!(pic.pixel(x, top + dy), MASK, "contour row {dy}");
        }
        assert_eq!(pic.pixel(x, top + 3), blend([255; 3], MASK, MASK_ALPHA));
        assert_ne!(pic.pixel(x, top - 1), MASK, "outside the mask");
        // a corner voxel: its corner pixel too
        let (x, y) = axial.pixel_of([4, 3, 3]).unwrap();
        assert_eq!(pic.pixel(x - z / 2, y - z / 2), MASK);
        let (x, y) = axial.pixel_of([4, 5, 5]).unwrap();
        let inside = pic.pixel(x, y);
        assert_eq!(inside, blend([255; 3], MASK, MASK_ALPHA));
        assert_ne!(inside, MASK);
        assert_ne!(inside, [255; 3]);
        // outside the mask: grey
        let (x, y) = axial.pixel_of([4, 1, 6]).unwrap();
        let out = pic.pixel(x, y);
        assert!(out[0] == out[1] && out[1] == out[2], "{out:?}");
        // the coronal slice (a1 = 5) shows the block's edge at a0 = 2 (its lowest row)
        let coronal = &pic.panels[1];
        let (x, y) = coronal.pixel_of([2, 5, 5]).unwrap();
        assert_eq!(pic.pixel(x, y - coronal.zoom / 2 + coronal.zoom - 1), MASK);
        assert_eq!(pic.pixel(x, y), blend([255; 3], MASK, MASK_ALPHA));
        let (x, y) = coronal.pixel_of([3, 5, 5]).unwrap();
        assert_eq!(pic.pixel(x, y), blend([255; 3], MASK, MASK_ALPHA));

        // the label: the glyphs' pixels of "a" where the text starts, above the slice
        let scale = (axial.y0 - axial.label_y0 - PAD) / 8;
        assert!(scale >= 1);
        let glyph = font8x8::legacy::BASIC_LEGACY[b'a' as usize];
        let mut lit = 0;
        for (gy, bits) in glyph.iter().enumerate() {
            for gx in 0..8 {
                let c = pic.pixel(axial.x0 + gx * scale, axial.label_y0 + gy * scale);
                let on = bits & (1 << gx) != 0;
                assert_eq!(c == TEXT, on, "glyph pixel ({gx}, {gy})");
                lit += usize::from(on);
            }
        }
        assert!(lit > 10);
        let text_pixels = (axial.label_y0..axial.y0)
            .flat_map(|y| (axial.x0..axial.x0 + axial.cols * axial.zoom).map(move |x| (x, y)))
            .filter(|&(x, y)| pic.pixel(x, y) == TEXT)
            .count();
        assert!(text_pixels > 100, "{text_pixels} label pixels");
    }

    #[test]
    fn boxes_are_drawn_on_the_slices_they_cross() {
        let (shape, image, mask) = case();
        let marks = [Mark::Box {
            lo: [4, 2, 2],
            hi: [5, 9, 10],
            positive: false,
        }];
        let pic = render(&image, &mask, shape, [4, 5, 6], &marks);
        let axial = &pic.panels[0];
        // the frame's top-left corner: the first pixel of voxel (a1, a2) = (2, 2)
        let (x, y) = axial.pixel_of([4, 2, 2]).unwrap();
        let (x, y) = (x - axial.zoom / 2, y - axial.zoom / 2);
        assert_eq!(pic.pixel(x, y), NEGATIVE);
        assert_eq!(pic.pixel(x + 1, y + 1), NEGATIVE);
        assert_eq!(pic.pixel(x + 3 * axial.zoom, y), NEGATIVE);
        // inside the frame the image and mask are untouched
        let (x, y) = axial.pixel_of([4, 5, 5]).unwrap();
        assert_eq!(pic.pixel(x, y), blend([255; 3], MASK, MASK_ALPHA));
        // the coronal slice a1 = 5 crosses the box: a line one voxel high at a0 = 4
        let (x, y) = pic.panels[1].pixel_of([4, 5, 5]).unwrap();
        assert_eq!(pic.pixel(x, y), NEGATIVE);
        // a slice past the box does not show it
        let pic = render(&image, &mask, shape, [3, 5, 6], &marks);
        let (x, y) = pic.panels[0].pixel_of([3, 2, 2]).unwrap();
        assert_ne!(pic.pixel(x, y), NEGATIVE);
    }

    #[test]
    fn strokes_are_drawn() {
        let (shape, image, mask) = case();
        let mut scribble = vec![0u8; mask.len()];
        scribble[linear(shape, 4, 1, 2)] = 1;
        let mut lasso = vec![0u8; mask.len()];
        for a1 in 1..4 {
            for a2 in 8..11 {
                lasso[linear(shape, 4, a1, a2)] = 1;
            }
        }
        let marks = [
            Mark::Scribble {
                mask: &scribble,
                positive: true,
            },
            Mark::Lasso {
                mask: &lasso,
                positive: false,
            },
        ];
        let pic = render(&image, &mask, shape, [4, 5, 6], &marks);
        let axial = &pic.panels[0];
        let (x, y) = axial.pixel_of([4, 1, 2]).unwrap();
        assert_eq!(pic.pixel(x, y), POSITIVE);
        let (x, y) = axial.pixel_of([4, 1, 9]).unwrap();
        assert_eq!(
            pic.pixel(x, y - axial.zoom / 2),
            NEGATIVE,
            "the lasso's outline"
        );
        let (x, y) = axial.pixel_of([4, 2, 9]).unwrap();
        assert_ne!(pic.pixel(x, y), NEGATIVE, "not its inside");
    }

    #[test]
    fn slices_show_each_prompt() {
        // the demo's case: a point on one object, a 2D box (one slice thick on a0) on another
        let shape = [96, 96, 96];
        let mask = vec![0u8; 96 * 96 * 96];
        let marks = [
            Mark::Point {
                at: [48, 40, 44],
                positive: true,
            },
            Mark::Box {
                lo: [40, 64, 62],
                hi: [41, 85, 83],
                positive: true,
            },
        ];
        // the box on its own plane (axial k=40), the point on the two others
        assert_eq!(choose_slices(shape, &mask, &marks), [40, 40, 44]);
        // no prompts: the mask's middle
        let mut mask = mask;
        for a0 in 10..21 {
            mask[linear(shape, a0, 30, 50)] = 1;
        }
        assert_eq!(choose_slices(shape, &mask, &[]), [15, 30, 50]);
    }

    #[test]
    fn writes_a_png() {
        let (shape, image, mask) = case();
        let dir = std::env::temp_dir().join(format!("nni-preview-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.png");
        let pic = write_preview_png(&path, &image, &mask, shape, &[]).unwrap();
        let decoder = png::Decoder::new(File::open(&path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            (info.width as usize, info.height as usize),
            (pic.width, pic.height)
        );
        assert_eq!(&buf[..info.buffer_size()], &pic.rgb[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
