//! A fixed-size bit vector (one bit per edge or node).

#[derive(Clone, Default)]
pub struct BitVec {
    words: Vec<u64>,
}

impl BitVec {
    pub fn new(len: usize) -> BitVec {
        BitVec {
            words: vec![0; len.div_ceil(64)],
        }
    }

    #[inline]
    pub fn get(&self, i: u32) -> bool {
        self.words[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    #[inline]
    pub fn set(&mut self, i: u32) {
        self.words[(i / 64) as usize] |= 1 << (i % 64);
    }
}
