//! Compact storage of the interaction channels: float16 values in 16^3 chunks, allocated only
//! where a prompt wrote something. A 512x512x1000 image costs nothing until prompted, and a click
//! costs a few chunks. Every write goes through [`ChunkUndo`] so a prompt can be undone or rolled
//! back exactly.

use half::f16;
use std::collections::HashSet;

use crate::geometry::{BBox, Shape};

/// Edge length of a storage chunk.
pub const CHUNK: usize = 16;
const CHUNK_VOXELS: usize = CHUNK * CHUNK * CHUNK;

type Chunk = Box<[f16]>;

/// One interaction channel over the whole image, sparse in chunks.
#[derive(Clone)]
pub struct SparseChannel {
    shape: Shape,
    grid: Shape,
    chunks: Vec<Option<Chunk>>,
}

/// Pre-images of the chunks an operation overwrote, for undo and rollback.
#[derive(Default)]
pub struct ChunkUndo {
    records: Vec<(usize, usize, Option<Chunk>)>,
    whole: Vec<(usize, Vec<Option<Chunk>>)>,
    seen: HashSet<(usize, usize)>,
}

impl ChunkUndo {
    /// Restore every recorded pre-image into `channels`, newest first.
    pub fn restore(self, channels: &mut [SparseChannel]) {
        for (ch, chunks) in self.whole.into_iter().rev() {
            channels[ch].chunks = chunks;
        }
        for (ch, idx, old) in self.records.into_iter().rev() {
            channels[ch].chunks[idx] = old;
        }
    }

    /// The same chunks as they are now in `channels` (the post-image of the operation this
    /// record undoes), for redo.
    pub fn capture_current(&self, channels: &[SparseChannel]) -> ChunkUndo {
        ChunkUndo {
            records: self
                .records
                .iter()
                .map(|(ch, idx, _)| (*ch, *idx, channels[*ch].chunks[*idx].clone()))
                .collect(),
            whole: self
                .whole
                .iter()
                .map(|(ch, _)| (*ch, channels[*ch].chunks.clone()))
                .collect(),
            seen: HashSet::new(),
        }
    }

    /// [`ChunkUndo::restore`] keeping the record (its chunks are copied), for undo and redo
    /// that may be repeated.
    pub fn restore_cloned(&self, channels: &mut [SparseChannel]) {
        for (ch, chunks) in self.whole.iter().rev() {
            channels[*ch].chunks = chunks.clone();
        }
        for (ch, idx, old) in self.records.iter().rev() {
            channels[*ch].chunks[*idx] = old.clone();
        }
    }

    /// Bytes held by the recorded pre-images.
    pub fn bytes(&self) -> usize {
        let per = CHUNK_VOXELS * 2;
        self.records.iter().filter(|r| r.2.is_some()).count() * per
            + self
                .whole
                .iter()
                .map(|(_, c)| c.iter().filter(|c| c.is_some()).count() * per)
                .sum::<usize>()
    }
}

impl SparseChannel {
    /// An all-zero channel over `shape`.
    pub fn new(shape: Shape) -> Self {
        let grid = [
            shape[0].div_ceil(CHUNK),
            shape[1].div_ceil(CHUNK),
            shape[2].div_ceil(CHUNK),
        ];
        SparseChannel {
            shape,
            grid,
            chunks: vec![None; grid[0] * grid[1] * grid[2]],
        }
    }

    /// Spatial shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// True when nothing was ever written (or everything was cleared).
    pub fn is_empty(&self) -> bool {
        self.chunks.iter().all(|c| c.is_none())
    }

    /// Number of allocated chunks (memory use is this times 8 KiB).
    pub fn allocated_chunks(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_some()).count()
    }

    fn chunk_index(&self, c: [usize; 3]) -> usize {
        (c[0] * self.grid[1] + c[1]) * self.grid[2] + c[2]
    }

    /// Zero the whole channel, recording the old chunks as one whole-channel pre-image.
    pub fn clear(&mut self, ch: usize, undo: Option<&mut ChunkUndo>) {
        let old = std::mem::replace(
            &mut self.chunks,
            vec![None; self.grid[0] * self.grid[1] * self.grid[2]],
        );
        if let Some(u) = undo {
            u.whole.push((ch, old));
        }
    }

    /// Value at one voxel.
    pub fn get(&self, p: [usize; 3]) -> f16 {
        let c = [p[0] / CHUNK, p[1] / CHUNK, p[2] / CHUNK];
        match &self.chunks[self.chunk_index(c)] {
            None => f16::ZERO,
            Some(chunk) => chunk[((p[0] % CHUNK) * CHUNK + p[1] % CHUNK) * CHUNK + p[2] % CHUNK],
        }
    }

    /// The chunks meeting `valid` (a box inside the image) as
    /// `(chunk index, chunk origin, overlap box in image coordinates)`.
    fn chunk_boxes(&self, valid: &BBox) -> Vec<(usize, [usize; 3], BBox)> {
        let lo = valid.lo.map(|v| v as usize / CHUNK);
        let hi = valid.hi.map(|v| (v as usize - 1) / CHUNK);
        let mut out = Vec::new();
        for c0 in lo[0]..=hi[0] {
            for c1 in lo[1]..=hi[1] {
                for c2 in lo[2]..=hi[2] {
                    let origin = [c0 * CHUNK, c1 * CHUNK, c2 * CHUNK];
                    let cbox =
                        BBox::new(origin.map(|v| v as i64), origin.map(|v| (v + CHUNK) as i64));
                    let overlap = cbox.intersect(valid).expect("the chunk meets the region");
                    out.push((self.chunk_index([c0, c1, c2]), origin, overlap));
                }
            }
        }
        out
    }

    /// Visit the allocated chunks intersecting `region` (clipped to the image) as
    /// `(chunk data, chunk origin, overlap box in image coordinates)`.
    fn for_chunks_in(&self, region: &BBox, mut f: impl FnMut(&[f16], [usize; 3], &BBox)) {
        let Some(valid) = region.clip(self.shape) else {
            return;
        };
        for (idx, origin, overlap) in self.chunk_boxes(&valid) {
            if let Some(chunk) = &self.chunks[idx] {
                f(chunk, origin, &overlap);
            }
        }
    }

    /// Bounding box (image coordinates) of the allocated chunks meeting `region`, clipped to
    /// `region` and the image: a superset of the nonzero voxels there, or `None`.
    pub fn allocated_bbox(&self, region: &BBox) -> Option<BBox> {
        let mut acc: Option<BBox> = None;
        self.for_chunks_in(region, |_, _, ov| {
            acc = Some(acc.map_or(*ov, |a| a.union(ov)))
        });
        acc
    }

    /// Read `region` (which may extend past the image) into `out`, laid out as a C-order volume of
    /// `region.shape()`, converting with `conv`. Voxels outside the image or in unallocated chunks
    /// are left as they are in `out` (callers pass a zeroed buffer).
    pub fn read_region<T: Copy>(&self, region: &BBox, out: &mut [T], conv: impl Fn(f16) -> T) {
        let rs = region.shape();
        self.for_chunks_in(region, |chunk, origin, ov| {
            let s = ov.shape();
            for a0 in 0..s[0] {
                for a1 in 0..s[1] {
                    let g0 = ov.lo[0] as usize + a0;
                    let g1 = ov.lo[1] as usize + a1;
                    let g2 = ov.lo[2] as usize;
                    let src =
                        ((g0 - origin[0]) * CHUNK + (g1 - origin[1])) * CHUNK + (g2 - origin[2]);
                    let d0 = (g0 as i64 - region.lo[0]) as usize;
                    let d1 = (g1 as i64 - region.lo[1]) as usize;
                    let d2 = (g2 as i64 - region.lo[2]) as usize;
                    let dst = (d0 * rs[1] + d1) * rs[2] + d2;
                    for k in 0..s[2] {
                        out[dst + k] = conv(chunk[src + k]);
                    }
                }
            }
        });
    }

    /// Apply `f(global position, &mut value)` to every voxel of `region` clipped to the image,
    /// allocating chunks as needed and recording their pre-images in `undo`.
    pub fn modify_region(
        &mut self,
        ch: usize,
        region: &BBox,
        undo: Option<&mut ChunkUndo>,
        mut f: impl FnMut([usize; 3], &mut f16),
    ) {
        let Some(valid) = region.clip(self.shape) else {
            return;
        };
        let mut undo = undo;
        for (idx, origin, ov) in self.chunk_boxes(&valid) {
            if let Some(u) = undo.as_deref_mut() {
                if u.seen.insert((ch, idx)) {
                    u.records.push((ch, idx, self.chunks[idx].clone()));
                }
            }
            let chunk = self.chunks[idx]
                .get_or_insert_with(|| vec![f16::ZERO; CHUNK_VOXELS].into_boxed_slice());
            for g0 in ov.lo[0] as usize..ov.hi[0] as usize {
                for g1 in ov.lo[1] as usize..ov.hi[1] as usize {
                    for g2 in ov.lo[2] as usize..ov.hi[2] as usize {
                        let i = ((g0 - origin[0]) * CHUNK + (g1 - origin[1])) * CHUNK
                            + (g2 - origin[2]);
                        f([g0, g1, g2], &mut chunk[i]);
                    }
                }
            }
        }
    }

    /// Apply `f` to every stored value (zeros in unallocated chunks stay zero: `f(0)` must be 0),
    /// recording the channel's pre-image.
    pub fn map_all(&mut self, ch: usize, undo: Option<&mut ChunkUndo>, f: impl Fn(f16) -> f16) {
        if let Some(u) = undo {
            u.whole.push((ch, self.chunks.clone()));
        }
        for chunk in self.chunks.iter_mut().flatten() {
            for v in chunk.iter_mut() {
                *v = f(*v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_undo() {
        let mut ch = SparseChannel::new([20, 33, 17]);
        let mut undo = ChunkUndo::default();
        let region = BBox::new([14, 30, -3], [18, 40, 2]);
        ch.modify_region(0, &region, Some(&mut undo), |p, v| {
            *v = f16::from_f32((p[0] + p[1]) as f32)
        });
        assert_eq!(ch.get([15, 31, 1]), f16::from_f32(46.0));
        assert_eq!(ch.get([15, 31, 2]), f16::ZERO);
        let mut out = vec![f16::ZERO; region.voxels()];
        ch.read_region(&region, &mut out, |v| v);
        let nonzero = out.iter().filter(|v| v.to_f32() != 0.0).count();
        assert_eq!(nonzero, 4 * 3 * 2);
        let mut chans = vec![ch];
        undo.restore(&mut chans);
        assert!(chans[0].is_empty());
    }
}
