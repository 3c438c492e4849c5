//! Queued items, stored so that handing one over costs one pointer and
//! running it one cache miss.
//!
//! An item is its closure and the place it was added, in one block behind
//! a thin pointer: a header (the functions that call and drop the closure,
//! and the call site) followed by the closure itself, like a `dyn FnMut`
//! whose vtable lives in the block. A slot of the hand-off holds the
//! pointer in one atomic word.
//!
//! Items added before a run go to an [`ItemArena`]: blocks carved one after
//! another from large chunks, so that a run reads its items in order from
//! memory the prefetcher has already brought in, and frees nothing per
//! item (a block is only dropped in place; the chunks are freed after the
//! run, all at once). Items added by running items, on any worker, are
//! boxed one by one.

use super::ItemTx;
use crate::error::TxError;
use crate::ids::CallSite;
use crate::platform::Platform;
use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

/// Calls an item's closure.
type CallFn<P, E> = for<'a, 'b, 'rt> unsafe fn(
    NonNull<Header<P, E>>,
    &'a mut ItemTx<'b, 'rt, P, E>,
) -> Result<(), TxError<E>>;

/// Drops an item's closure (and frees its block, if boxed).
type DropFn<P, E> = unsafe fn(NonNull<Header<P, E>>);

#[repr(C)]
struct Header<P: Platform, E> {
    call: CallFn<P, E>,
    /// Drops the closure, and frees the block if it was boxed; `None` for
    /// a closure in an arena that has nothing to drop (most: those that
    /// borrow or copy what they use), so that dropping it costs no call.
    drop: Option<DropFn<P, E>>,
    site: CallSite,
}

/// A header and its closure, laid out in this order.
#[repr(C)]
struct Block<F, P: Platform, E> {
    header: Header<P, E>,
    body: F,
}

/// A queued item, owned: running it calls its closure; dropping it drops
/// the closure (and frees its block, if boxed).
pub(crate) struct Item<P: Platform, E> {
    header: NonNull<Header<P, E>>,
    owns: PhantomData<Box<dyn Send>>,
}

// SAFETY: an item owns its closure, which is `Send` (both constructors
// require it); the block is reached only through this unique owner.
unsafe impl<P: Platform, E> Send for Item<P, E> {}

impl<P: Platform, E> Item<P, E> {
    /// `body` in a box of its own.
    pub(crate) fn boxed<F>(body: F, site: CallSite) -> Self
    where
        F: FnMut(&mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>> + Send + 'static,
    {
        // SAFETY: `body` borrows nothing that can go away.
        unsafe { Self::boxed_borrowing(body, site) }
    }

    /// `body`, which may borrow, in a box of its own.
    ///
    /// # Safety
    /// As for [`in_arena`](Self::in_arena).
    unsafe fn boxed_borrowing<F>(body: F, site: CallSite) -> Self
    where
        F: FnMut(&mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>> + Send,
    {
        let block = Box::new(Block {
            header: Header {
                call: call::<F, P, E>,
                drop: Some(drop_boxed::<F, P, E>),
                site,
            },
            body,
        });
        Item {
            header: NonNull::from(Box::leak(block)).cast(),
            owns: PhantomData,
        }
    }

    /// `body` in `arena` (or boxed, if it does not fit the arena's blocks).
    ///
    /// # Safety
    /// `body` may borrow (the item's type does not say for how long): the
    /// caller drops the item before anything `body` borrows goes away.
    pub(crate) unsafe fn in_arena<F>(arena: &mut ItemArena, body: F, site: CallSite) -> Self
    where
        F: FnMut(&mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>> + Send,
    {
        let Some(place) = arena.alloc(Layout::new::<Block<F, P, E>>()) else {
            // SAFETY: the caller's contract, passed on.
            return unsafe { Self::boxed_borrowing(body, site) };
        };
        let place = place.cast::<Block<F, P, E>>();
        // SAFETY: `alloc` returned room for a `Block<F, P, E>`, aligned and
        // unused, which the arena keeps until after every item in it is
        // dropped (see `ItemArena`).
        unsafe {
            place.write(Block {
                header: Header {
                    call: call::<F, P, E>,
                    drop: core::mem::needs_drop::<F>().then_some(drop_in_arena::<F, P, E>),
                    site,
                },
                body,
            });
        }
        Item {
            header: place.cast(),
            owns: PhantomData,
        }
    }

    /// Where the item was added.
    pub(crate) fn site(&self) -> CallSite {
        // SAFETY: the header is initialised and owned by this item.
        unsafe { self.header.as_ref() }.site
    }

    /// Runs the item's closure.
    pub(crate) fn run(&mut self, tx: &mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>> {
        // SAFETY: `call` was made for this block's closure type, and `&mut
        // self` gives exclusive access to the closure.
        unsafe { (self.header.as_ref().call)(self.header, tx) }
    }

    /// The item as one word, for a slot; [`from_raw`](Self::from_raw) takes
    /// it back.
    pub(crate) fn into_raw(self) -> *mut () {
        let raw = self.header.as_ptr().cast();
        core::mem::forget(self);
        raw
    }

    /// # Safety
    /// `raw` came from [`into_raw`](Self::into_raw) and is taken back once.
    pub(crate) unsafe fn from_raw(raw: *mut ()) -> Self {
        Item {
            // SAFETY: the caller's contract; `into_raw` gave a non-null pointer.
            header: unsafe { NonNull::new_unchecked(raw.cast()) },
            owns: PhantomData,
        }
    }
}

impl<P: Platform, E> Drop for Item<P, E> {
    fn drop(&mut self) {
        // SAFETY: the block is initialised and this item, its only owner,
        // is going away.
        if let Some(drop) = unsafe { self.header.as_ref() }.drop {
            // SAFETY: as above.
            unsafe { drop(self.header) }
        }
    }
}

/// # Safety
/// `header` heads a live `Block<F, P, E>`, to which the caller has
/// exclusive access.
unsafe fn call<F, P: Platform, E>(
    header: NonNull<Header<P, E>>,
    tx: &mut ItemTx<'_, '_, P, E>,
) -> Result<(), TxError<E>>
where
    F: FnMut(&mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>>,
{
    // SAFETY: the caller's contract; `Block` is `repr(C)` with the header
    // first, so the header's address is the block's.
    let block = unsafe { header.cast::<Block<F, P, E>>().as_mut() };
    (block.body)(tx)
}

/// # Safety
/// `header` heads a live boxed `Block<F, P, E>` that nothing uses any more.
unsafe fn drop_boxed<F, P: Platform, E>(header: NonNull<Header<P, E>>) {
    // SAFETY: the caller's contract; the block was leaked from this box type.
    drop(unsafe { Box::from_raw(header.cast::<Block<F, P, E>>().as_ptr()) });
}

/// # Safety
/// `header` heads a live `Block<F, P, E>` in an arena, that nothing uses
/// any more.
unsafe fn drop_in_arena<F, P: Platform, E>(header: NonNull<Header<P, E>>) {
    // SAFETY: the caller's contract; the arena frees the memory later.
    unsafe { core::ptr::drop_in_place(header.cast::<Block<F, P, E>>().as_ptr()) }
}

/// Alignment of an arena's chunks, and the largest alignment it serves.
const ARENA_ALIGN: usize = 64;
/// Bytes per chunk.
const CHUNK_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([MaybeUninit<u8>; ARENA_ALIGN]);

/// Memory for the items queued before a run: see the module docs. The
/// arena must outlive every item placed in it; its owner drops (or runs
/// and drops) them first.
#[derive(Default)]
pub(crate) struct ItemArena {
    /// Chunks leaked from boxes of `CHUNK_BYTES / ARENA_ALIGN` lines, kept
    /// as raw pointers: items point into them, and no reference to a whole
    /// chunk may be made while they do.
    chunks: Vec<NonNull<Line>>,
    /// The chunk being filled; those after it are free (kept from an
    /// earlier run, see [`reuse`](Self::reuse)).
    current: usize,
    /// Bytes used in the current chunk.
    used: usize,
}

// SAFETY: the arena owns its chunks (plain memory); the items placed in
// them are owned, and sent, separately (`Item` is `Send`).
unsafe impl Send for ItemArena {}
// SAFETY: a shared arena gives no access to its chunks.
unsafe impl Sync for ItemArena {}

impl ItemArena {
    /// Room for `layout`, or `None` if it is too large or too aligned for
    /// the arena's chunks.
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.align() > ARENA_ALIGN || layout.size() > CHUNK_BYTES / 4 {
            return None;
        }
        let mut start = self.used.next_multiple_of(layout.align());
        if self.chunks.is_empty() || start + layout.size() > CHUNK_BYTES {
            // The next chunk: one kept from an earlier run, or a new one.
            let next = if self.chunks.is_empty() {
                0
            } else {
                self.current + 1
            };
            if next == self.chunks.len() {
                let chunk: Box<[MaybeUninit<Line>]> =
                    Box::new_uninit_slice(CHUNK_BYTES / ARENA_ALIGN);
                let chunk = NonNull::new(Box::into_raw(chunk).cast::<Line>()).expect("a box");
                self.chunks.push(chunk);
            }
            self.current = next;
            start = 0;
        }
        self.used = start + layout.size();
        let chunk = self.chunks[self.current];
        // SAFETY: `start + size` is within the chunk's `CHUNK_BYTES`.
        Some(unsafe { chunk.cast::<u8>().add(start) })
    }
}

impl ItemArena {
    /// Makes all the arena's memory free for new items, keeping it: a
    /// queue that runs round after round neither frees its items' memory
    /// after a run nor faults it in again as the next round is queued.
    ///
    /// # Safety
    /// Every item placed in the arena has been dropped.
    pub(crate) unsafe fn reuse(&mut self) {
        self.current = 0;
        self.used = 0;
    }
}

impl Drop for ItemArena {
    fn drop(&mut self) {
        for chunk in self.chunks.drain(..) {
            let lines = core::ptr::slice_from_raw_parts_mut(
                chunk.as_ptr().cast::<MaybeUninit<Line>>(),
                CHUNK_BYTES / ARENA_ALIGN,
            );
            // SAFETY: leaked from a box of this many lines in `alloc`, freed
            // once; the items in it were dropped before the arena.
            drop(unsafe { Box::from_raw(lines) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Std;
    use std::sync::Arc;

    /// Items in an arena and boxed ones are dropped exactly once (each holds
    /// an `Arc` whose count shows it), whether they ran or not.
    #[test]
    fn items_drop_their_closures_once_in_the_arena_and_boxed() {
        let alive = Arc::new(());
        let mut arena = ItemArena::default();
        let mut items: Vec<Item<Std, ()>> = Vec::new();
        for i in 0..5_000 {
            let held = alive.clone();
            let body = move |_: &mut ItemTx<'_, '_, Std, ()>| {
                let _ = &held;
                Ok(())
            };
            let site = core::panic::Location::caller();
            items.push(if i % 3 == 0 {
                Item::boxed(body, site)
            } else {
                // SAFETY: the closure borrows nothing.
                unsafe { Item::in_arena(&mut arena, body, site) }
            });
        }
        assert!(arena.chunks.len() > 1, "several chunks used");
        assert_eq!(Arc::strong_count(&alive), 5_001);
        let raw = items.pop().expect("items").into_raw();
        // SAFETY: taken back once.
        drop(unsafe { Item::<Std, ()>::from_raw(raw) });
        assert_eq!(Arc::strong_count(&alive), 5_000);
        drop(items);
        assert_eq!(Arc::strong_count(&alive), 1);
        drop(arena);
    }

    /// A reused arena places new items in the memory of the old ones, in
    /// the same order, and adds chunks only once its own are full.
    #[test]
    fn a_reused_arena_fills_its_chunks_again_before_adding_any() {
        let mut arena = ItemArena::default();
        let site = core::panic::Location::caller();
        let place = |arena: &mut ItemArena, n: u64| -> Vec<Item<Std, ()>> {
            (0..n)
                .map(|i| {
                    let body = move |_: &mut ItemTx<'_, '_, Std, ()>| {
                        assert!(i < n);
                        Ok(())
                    };
                    // SAFETY: the closure borrows nothing.
                    unsafe { Item::in_arena(arena, body, site) }
                })
                .collect()
        };
        let first = place(&mut arena, 3_000);
        let chunks = arena.chunks.clone();
        assert!(chunks.len() > 1, "several chunks used");
        let addresses: Vec<*mut ()> = first.into_iter().map(Item::into_raw).collect();
        for &raw in &addresses {
            // SAFETY: taken back once.
            drop(unsafe { Item::<Std, ()>::from_raw(raw) });
        }
        // SAFETY: every item placed in the arena was dropped above.
        unsafe { arena.reuse() };
        let second = place(&mut arena, 3_000);
        assert_eq!(arena.chunks, chunks, "no chunk added");
        let again: Vec<*mut ()> = second.into_iter().map(Item::into_raw).collect();
        assert_eq!(again, addresses, "the same places, in order");
        for &raw in &again {
            // SAFETY: taken back once.
            drop(unsafe { Item::<Std, ()>::from_raw(raw) });
        }
        // More than before: new chunks after the kept ones.
        let third = place(&mut arena, 1);
        drop(third);
        // SAFETY: every item placed in the arena was dropped.
        unsafe { arena.reuse() };
        let fourth = place(&mut arena, 6_000);
        assert!(arena.chunks.len() > chunks.len());
        assert_eq!(arena.chunks[..chunks.len()], chunks[..]);
        drop(fourth);
    }
}
