//! A table of queued items indexed by item number, growing without
//! moving: where the items of a run wait to be taken.
//!
//! Each slot is one atomic pointer: null, or an owned value of one word
//! (a [`SlotValue`]: a queued item) handed over from the thread that
//! stored it to the thread that takes it (release store, acquire load).
//! The first chunk holds the items queued before the run (in the memory
//! they were queued in, where it can: see `with_values`); items added
//! during it go to chunks allocated as needed, each twice the size of the
//! one before, so that a slot never moves and finding one costs a few
//! arithmetic steps and two loads.

use crate::platform::{AtomicPointer, Lock, Ordering, Platform};
use core::marker::PhantomData;
use core::ptr;

/// An owned value that fits in one pointer-sized word, so that a slot can
/// hold it.
pub(crate) trait SlotValue: Send + Sized {
    /// Gives the value up as a non-null word.
    fn into_raw(self) -> *mut ();
    /// # Safety
    /// `raw` came from [`into_raw`](Self::into_raw) and is taken back once.
    unsafe fn from_raw(raw: *mut ()) -> Self;
}

impl<P: Platform, E> SlotValue for super::item::Item<P, E> {
    fn into_raw(self) -> *mut () {
        super::item::Item::into_raw(self)
    }
    unsafe fn from_raw(raw: *mut ()) -> Self {
        // SAFETY: the caller's contract.
        unsafe { super::item::Item::from_raw(raw) }
    }
}

/// Chunks in the directory: room for `first << (CHUNKS - 1)` slots.
const CHUNKS: usize = 48;

pub(crate) struct SlotTable<P: Platform, T: SlotValue> {
    /// Chunk `c`'s first slot (null until allocated); chunk 0 holds slots
    /// `0..first`, chunk `c > 0` slots `first << (c - 1)..first << c`.
    directory: Box<[P::AtomicPtr]>,
    first: u64,
    /// The capacity of chunk 0's vector (its length is `first`).
    first_capacity: usize,
    /// Serialises chunk allocation.
    growing: P::Mutex<()>,
    owns: PhantomData<T>,
}

impl<P: Platform, T: SlotValue> SlotTable<P, T> {
    /// A table whose first chunk holds `values` in slots `0..values.len()`
    /// and has room for at least 64 slots.
    ///
    /// The chunk is built in the memory of `values` itself where a slot is
    /// one word (real threads: an atomic pointer is a pointer), so a run
    /// neither copies its queued items into fresh memory nor takes a page
    /// fault for it before its workers start.
    pub(crate) fn with_values(values: Vec<T>) -> Self {
        let first = values.len().max(64);
        // `map` and `collect` over a vector's own iterator reuse its buffer
        // when the two element types have one size and alignment.
        let mut chunk: Vec<P::AtomicPtr> = values
            .into_iter()
            .map(|value| P::AtomicPtr::new(value.into_raw()))
            .collect();
        chunk.resize_with(first, || P::AtomicPtr::new(ptr::null_mut()));
        let directory: Box<[P::AtomicPtr]> = (0..CHUNKS)
            .map(|_| P::AtomicPtr::new(ptr::null_mut()))
            .collect();
        let first_capacity = chunk.capacity();
        let start = core::mem::ManuallyDrop::new(chunk).as_mut_ptr();
        directory[0].store(start.cast(), Ordering::Release);
        SlotTable {
            directory,
            first: first as u64,
            first_capacity,
            growing: P::Mutex::new(()),
            owns: PhantomData,
        }
    }

    /// The chunk holding slot `id`, and the slot's offset in it.
    #[inline]
    fn locate(&self, id: u64) -> (usize, usize) {
        if id < self.first {
            return (0, id as usize);
        }
        let chunk = (id / self.first).ilog2() as usize + 1;
        (chunk, (id - (self.first << (chunk - 1))) as usize)
    }

    fn chunk_len(&self, chunk: usize) -> usize {
        match chunk {
            0 => self.first as usize,
            c => (self.first << (c - 1)) as usize,
        }
    }

    /// Chunk `chunk`'s slots, if allocated.
    #[inline]
    fn chunk(&self, chunk: usize) -> Option<&[P::AtomicPtr]> {
        let start = self.directory[chunk].load(Ordering::Acquire);
        if start.is_null() {
            return None;
        }
        // SAFETY: a non-null directory entry is the first element of a
        // leaked vector (chunk 0) or boxed slice of `chunk_len(chunk)`
        // slots, published with a release store after it was initialised
        // and freed only in `drop`.
        Some(unsafe {
            core::slice::from_raw_parts(start.cast::<P::AtomicPtr>(), self.chunk_len(chunk))
        })
    }

    fn chunk_or_grow(&self, chunk: usize) -> &[P::AtomicPtr] {
        if let Some(slots) = self.chunk(chunk) {
            return slots;
        }
        self.growing.with(|()| {
            if self.chunk(chunk).is_none() {
                let slots: Box<[P::AtomicPtr]> = (0..self.chunk_len(chunk))
                    .map(|_| P::AtomicPtr::new(ptr::null_mut()))
                    .collect();
                let start = Box::into_raw(slots).cast::<P::AtomicPtr>();
                self.directory[chunk].store(start.cast(), Ordering::Release);
            }
        });
        self.chunk(chunk).expect("allocated above")
    }

    #[inline]
    fn slot(&self, id: u64) -> Option<&P::AtomicPtr> {
        let (chunk, offset) = self.locate(id);
        self.chunk(chunk).map(|slots| &slots[offset])
    }

    /// Puts `value` in the empty slot `id`.
    pub(crate) fn put(&self, id: u64, value: T) {
        let (chunk, offset) = self.locate(id);
        let slot = &self.chunk_or_grow(chunk)[offset];
        debug_assert!(slot.load(Ordering::Relaxed).is_null(), "slot {id} is taken");
        slot.store(value.into_raw(), Ordering::Release);
    }

    /// Takes what slot `id` holds, if anything, by an atomic swap: any
    /// number of threads may race for it, and at most one gets it. An
    /// empty slot is only loaded.
    #[inline]
    pub(crate) fn take(&self, id: u64) -> Option<T> {
        let slot = self.slot(id)?;
        if slot.load(Ordering::Acquire).is_null() {
            return None;
        }
        let value = slot.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null slot holds a value `put` gave up; the swap took
        // it out, so this thread alone owns it.
        (!value.is_null()).then(|| unsafe { T::from_raw(value) })
    }

    /// Takes what slot `id` holds, for a caller that alone may take it (it
    /// claimed the number): a load and a store, no read-modify-write.
    /// `None` while the slot is still empty (its `put` is under way).
    #[inline]
    pub(crate) fn take_claimed(&self, id: u64) -> Option<T> {
        let slot = self.slot(id)?;
        let value = slot.load(Ordering::Acquire);
        if value.is_null() {
            return None;
        }
        slot.store(ptr::null_mut(), Ordering::Relaxed);
        // SAFETY: as in `take`; only the caller takes this slot.
        Some(unsafe { T::from_raw(value) })
    }
}

impl<P: Platform, T: SlotValue> Drop for SlotTable<P, T> {
    fn drop(&mut self) {
        for chunk in 0..CHUNKS {
            let Some(slots) = self.chunk(chunk) else {
                continue;
            };
            for slot in slots {
                let value = slot.load(Ordering::Relaxed);
                if !value.is_null() {
                    // SAFETY: `drop` has the table to itself; the slot owns
                    // its value.
                    drop(unsafe { T::from_raw(value) });
                }
            }
            let len = slots.len();
            // Freed through the pointer the chunk was leaked as, not one
            // derived from the shared slice above.
            let start = self.directory[chunk]
                .load(Ordering::Relaxed)
                .cast::<P::AtomicPtr>();
            if chunk == 0 {
                // SAFETY: chunk 0 is the buffer of a vector of `len` slots
                // and capacity `first_capacity` leaked in `with_values`; it
                // is freed once, here.
                drop(unsafe { Vec::from_raw_parts(start, len, self.first_capacity) });
            } else {
                // SAFETY: the chunk was leaked from a boxed slice of `len`
                // slots in `chunk_or_grow`, and is freed once, here.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(start, len)) });
            }
        }
    }
}

// SAFETY: the table owns `T`s and hands each to exactly one taker, so
// sharing it moves `T`s between threads: `T: Send` suffices. Its slots and
// directory are platform atomics, which are `Send + Sync`.
unsafe impl<P: Platform, T: SlotValue> Sync for SlotTable<P, T> {}
// SAFETY: as above.
unsafe impl<P: Platform, T: SlotValue> Send for SlotTable<P, T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Std;

    /// Boxes as slot values, for the tests' tables.
    impl<T: Send> SlotValue for Box<T> {
        fn into_raw(self) -> *mut () {
            Box::into_raw(self).cast()
        }
        unsafe fn from_raw(raw: *mut ()) -> Self {
            // SAFETY: the caller's contract.
            unsafe { Box::from_raw(raw.cast()) }
        }
    }

    #[test]
    fn slots_past_the_first_chunk_grow_and_keep_their_values() {
        let table = SlotTable::<Std, Box<u64>>::with_values(vec![Box::new(0), Box::new(10)]);
        assert_eq!(table.take_claimed(1).map(|b| *b), Some(10));
        for id in [1, 63, 64, 127, 128, 1000, 70_000] {
            table.put(id, Box::new(id * 10));
        }
        assert_eq!(table.locate(64), (1, 0));
        assert_eq!(table.locate(128), (2, 0));
        assert_eq!(table.locate(255), (2, 127));
        assert_eq!(table.take_claimed(1000).map(|b| *b), Some(10_000));
        assert_eq!(table.take(1000), None, "taken once");
        assert_eq!(table.take(70_000).map(|b| *b), Some(700_000));
        assert_eq!(table.take(5), None);
        assert_eq!(table.take(1 << 40), None, "no chunk there: nothing");
        // The rest (0, 1, 63, 64, 127, 128) is dropped with the table.
    }
}
