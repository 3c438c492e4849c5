//! How a TVar's value is held: in one atomic word, so that a read is a load.
//!
//! Small plain values (the integer types, `bool`, `char`, the floats, `()`)
//! are stored *inline*: their bytes are the word, and replacing them frees
//! nothing. Every other value lives in a `Box` whose pointer is the word; a
//! replaced box is retired to deferred reclamation (see `reclaim`), since a
//! reader may still be cloning it. Values in write logs are held the same
//! way ([`LoggedValue`]), so that publishing one at commit is a store of its
//! word, whatever its type; a commuted update is a closure from word to
//! logged value ([`CommutedUpdate`]), so that commit can apply it without
//! knowing the type either.

use core::any::{Any, TypeId};
use core::marker::PhantomData;
use core::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use core::ptr;

/// Whether `T` is stored inline: a type with no padding, no drop glue and
/// every bit pattern of its values its own, that fits in a word.
#[inline(always)]
pub(crate) fn is_inline<T: 'static>() -> bool {
    macro_rules! one_of {
        ($($t:ty),*) => { false $(|| TypeId::of::<T>() == TypeId::of::<$t>())* };
    }
    core::mem::size_of::<T>() <= core::mem::size_of::<usize>()
        && one_of!(
            u8,
            u16,
            u32,
            u64,
            usize,
            i8,
            i16,
            i32,
            i64,
            isize,
            bool,
            char,
            f32,
            f64,
            ()
        )
}

/// What the engine needs to know of a value's type once its logs have
/// erased it.
#[derive(Debug)]
pub(crate) struct ValueKind {
    /// Stored inline (nothing to free).
    pub(crate) inline: bool,
    /// Frees a boxed value's word.
    free: unsafe fn(*mut ()),
    /// The value as a recorded integer (see [`recorded_value`](crate::recorder::recorded_value)).
    recorded: unsafe fn(*mut ()) -> Option<i64>,
}

impl ValueKind {
    /// The kind of `T`'s values.
    #[inline(always)]
    pub(crate) fn of<T: Clone + Send + Sync + 'static>() -> &'static ValueKind {
        if is_inline::<T>() {
            Kinds::<T>::INLINE
        } else {
            Kinds::<T>::BOXED
        }
    }

    /// Frees what a word of this kind holds.
    ///
    /// # Safety
    /// `word` holds a value of this kind that nothing else owns or reaches.
    #[inline]
    pub(crate) unsafe fn free(&self, word: *mut ()) {
        if !self.inline {
            // SAFETY: the caller's contract.
            unsafe { (self.free)(word) }
        }
    }

    /// The function that frees a boxed value's word (see [`Garbage`](crate::reclaim::Garbage)).
    pub(crate) fn free_fn(&self) -> unsafe fn(*mut ()) {
        self.free
    }

    /// The value a word of this kind holds, as a recorded integer.
    ///
    /// # Safety
    /// `word` holds a live value of this kind.
    pub(crate) unsafe fn recorded(&self, word: *mut ()) -> Option<i64> {
        // SAFETY: the caller's contract.
        unsafe { (self.recorded)(word) }
    }
}

/// The two kinds a type can have, as constants (so that a `&'static` to them
/// costs nothing).
struct Kinds<T>(PhantomData<T>);

impl<T: Clone + Send + Sync + 'static> Kinds<T> {
    const INLINE: &'static ValueKind = &ValueKind {
        inline: true,
        free: free_nothing,
        recorded: recorded::<T>,
    };
    const BOXED: &'static ValueKind = &ValueKind {
        inline: false,
        free: free_box::<T>,
        recorded: recorded::<T>,
    };
}

unsafe fn free_nothing(_word: *mut ()) {}

/// # Safety
/// `word` is a pointer made by [`into_word::<T>`] for a boxed `T`, owned by
/// the caller.
unsafe fn free_box<T: 'static>(word: *mut ()) {
    // SAFETY: the caller's contract: the box is ours to drop.
    drop(unsafe { Box::from_raw(word.cast::<T>()) });
}

/// # Safety
/// `word` holds a live `T`.
unsafe fn recorded<T: Clone + Send + Sync + 'static>(word: *mut ()) -> Option<i64> {
    // SAFETY: the caller's contract.
    unsafe {
        with_value::<T, _>(word, |value| {
            crate::recorder::recorded_value(value as &dyn Any)
        })
    }
}

/// Turns `value` into a word that owns it.
#[inline(always)]
pub(crate) fn into_word<T: Clone + Send + Sync + 'static>(value: T) -> *mut () {
    if is_inline::<T>() {
        let mut bits = 0usize;
        // SAFETY: `T` fits in a `usize` (`is_inline`); the write may be
        // unaligned within it. `T` has no padding, so every byte of `bits`
        // stays initialised.
        unsafe { ptr::write_unaligned(ptr::from_mut(&mut bits).cast::<T>(), value) };
        ptr::without_provenance_mut(bits)
    } else {
        Box::into_raw(Box::new(value)).cast()
    }
}

/// Runs `f` on the value a word holds.
///
/// # Safety
/// `word` was made by [`into_word::<T>`], and the value it holds is not
/// freed before `f` returns.
#[inline(always)]
pub(crate) unsafe fn with_value<T: Clone + Send + Sync + 'static, R>(
    word: *mut (),
    f: impl FnOnce(&T) -> R,
) -> R {
    if is_inline::<T>() {
        let bits = word.addr();
        // SAFETY: the first bytes of `bits` are those of a `T` written by
        // `into_word`; `T` has no drop glue, so this copy needs no care.
        let value: T = unsafe { ptr::read_unaligned(ptr::from_ref(&bits).cast::<T>()) };
        f(&value)
    } else {
        // SAFETY: the word is a live `Box<T>`'s pointer (the caller's
        // contract), shared: `T: Sync`.
        f(unsafe { &*word.cast::<T>() })
    }
}

/// A clone of the value a word holds.
///
/// # Safety
/// As for [`with_value`].
#[inline(always)]
pub(crate) unsafe fn clone_value<T: Clone + Send + Sync + 'static>(word: *mut ()) -> T {
    // SAFETY: the caller's contract.
    unsafe { with_value::<T, T>(word, T::clone) }
}

/// A value owned by a write log until commit publishes it.
pub(crate) struct LoggedValue {
    word: *mut (),
    kind: &'static ValueKind,
}

// SAFETY: it owns a `T: Send + Sync` (inline, or in a box).
unsafe impl Send for LoggedValue {}

impl LoggedValue {
    pub(crate) fn new<T: Clone + Send + Sync + 'static>(value: T) -> Self {
        LoggedValue {
            word: into_word(value),
            kind: ValueKind::of::<T>(),
        }
    }

    #[inline]
    pub(crate) fn kind(&self) -> &'static ValueKind {
        self.kind
    }

    /// The word, still owned by this value (for reading it back, or
    /// recording it).
    #[inline]
    pub(crate) fn word(&self) -> *mut () {
        self.word
    }

    /// Gives up the word: the caller now owns the value (commit publishes it
    /// in its TVar).
    #[inline]
    pub(crate) fn into_word(self) -> *mut () {
        let word = self.word;
        core::mem::forget(self);
        word
    }
}

impl Drop for LoggedValue {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a logged value owns its word until `into_word`, and was
        // never published.
        unsafe { self.kind.free(self.word) }
    }
}

/// A commuted update (`tx.commute(&tvar, f)`) with its type erased: `f`,
/// taking the TVar's value as a word and giving the new value as a
/// [`LoggedValue`]. Applied at commit to the value current then, or at
/// once to a value the transaction already knows.
///
/// A closure of at most two words (the common `move |t| t + n`) is kept
/// inline, like a value in its word: items that each commute into a total
/// then allocate nothing for it. A larger one is boxed.
pub(crate) struct CommutedUpdate {
    /// The closure, or a `Box` of it.
    storage: MaybeUninit<UpdateStorage>,
    /// Moves the closure out of `storage` and applies it to a word.
    call: unsafe fn(*mut UpdateStorage, *mut ()) -> LoggedValue,
    /// Drops the closure in `storage`, never called.
    drop: unsafe fn(*mut UpdateStorage),
}

/// Room for a closure kept inline.
type UpdateStorage = [usize; 2];

// SAFETY: `storage` owns a closure that is `Send` (`new` requires it), or
// a box of one.
unsafe impl Send for CommutedUpdate {}

impl CommutedUpdate {
    pub(crate) fn new<T: Clone + Send + Sync + 'static, F: FnOnce(T) -> T + Send + 'static>(
        f: F,
    ) -> Self {
        let mut storage = MaybeUninit::<UpdateStorage>::uninit();
        let inline = size_of::<F>() <= size_of::<UpdateStorage>()
            && align_of::<F>() <= align_of::<UpdateStorage>();
        if inline {
            // SAFETY: `F` fits `storage` in size and alignment (checked above).
            unsafe { storage.as_mut_ptr().cast::<F>().write(f) };
            CommutedUpdate {
                storage,
                call: call_update::<T, F, true>,
                drop: drop_update::<F, true>,
            }
        } else {
            let boxed = Box::into_raw(Box::new(f));
            // SAFETY: a pointer fits the storage.
            unsafe { storage.as_mut_ptr().cast::<*mut F>().write(boxed) };
            CommutedUpdate {
                storage,
                call: call_update::<T, F, false>,
                drop: drop_update::<F, false>,
            }
        }
    }

    /// The new value: `f` applied to a clone of the value `word` holds.
    ///
    /// # Safety
    /// `word` holds a value of the type this update was made for (its
    /// TVar's), not freed before the call returns.
    pub(crate) unsafe fn apply(self, word: *mut ()) -> LoggedValue {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the storage holds the closure `call` was made for; it is
        // moved out once, here, and `this` is never dropped (so neither is
        // the closure again, even if it panics); the caller vouches for
        // `word`.
        unsafe { (this.call)(this.storage.as_mut_ptr(), word) }
    }
}

impl Drop for CommutedUpdate {
    fn drop(&mut self) {
        // SAFETY: never applied (`apply` forgets the update), so the storage
        // still holds the closure `drop` was made for.
        unsafe { (self.drop)(self.storage.as_mut_ptr()) }
    }
}

/// Takes the closure `F` out of `storage` (inline, or boxed) and applies
/// it to a clone of the `T` that `word` holds.
///
/// # Safety
/// `storage` holds an `F` (or a box of one), which the caller gives up;
/// `word` holds a live `T`.
unsafe fn call_update<T: Clone + Send + Sync + 'static, F: FnOnce(T) -> T, const INLINE: bool>(
    storage: *mut UpdateStorage,
    word: *mut (),
) -> LoggedValue {
    // SAFETY: the caller's contract.
    let f = unsafe { take_closure::<F, INLINE>(storage) };
    // SAFETY: the caller's contract: the word holds a live `T`.
    let current = unsafe { clone_value::<T>(word) };
    LoggedValue::new(f(current))
}

/// Drops the closure `F` in `storage` (inline, or boxed).
///
/// # Safety
/// `storage` holds an `F` (or a box of one), which the caller gives up.
unsafe fn drop_update<F, const INLINE: bool>(storage: *mut UpdateStorage) {
    // SAFETY: the caller's contract.
    drop(unsafe { take_closure::<F, INLINE>(storage) });
}

/// Moves the closure out of `storage`.
///
/// # Safety
/// `storage` holds an `F` inline if `INLINE`, else a pointer from
/// `Box::into_raw` of one; the caller gives it up.
unsafe fn take_closure<F, const INLINE: bool>(storage: *mut UpdateStorage) -> F {
    if INLINE {
        // SAFETY: the caller's contract; `new` checked size and alignment.
        unsafe { storage.cast::<F>().read() }
    } else {
        // SAFETY: the caller's contract: a pointer of `Box::into_raw`,
        // taken back once.
        *unsafe { Box::from_raw(storage.cast::<*mut F>().read()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Clone + Send + Sync + 'static + PartialEq + core::fmt::Debug>(value: T) {
        let logged = LoggedValue::new(value.clone());
        // SAFETY: the logged value owns the word and lives through the call.
        assert_eq!(unsafe { clone_value::<T>(logged.word()) }, value);
    }

    #[test]
    fn values_survive_their_word_inline_and_boxed() {
        assert!(is_inline::<i64>() && is_inline::<bool>() && is_inline::<char>());
        assert!(!is_inline::<String>() && !is_inline::<(u8, u32)>() && !is_inline::<u128>());
        round_trip(-7_i64);
        round_trip(u64::MAX);
        round_trip(true);
        round_trip('ß');
        round_trip(-0.5_f64);
        round_trip(());
        round_trip(String::from("boxed"));
        round_trip((1_u8, 2_u32));
        round_trip(vec![1_u128, 2, 3]);
    }

    #[test]
    fn commuted_updates_apply_to_the_word_they_are_given() {
        let boxed = LoggedValue::new(String::from("ab"));
        let update = CommutedUpdate::new(|s: String| s + "c");
        // SAFETY: the word holds a live `String`, the update's type.
        let result = unsafe { update.apply(boxed.word()) };
        // SAFETY: the result is a live logged `String`.
        assert_eq!(unsafe { clone_value::<String>(result.word()) }, "abc");
        // The update cloned its input: the original is untouched.
        // SAFETY: as above.
        assert_eq!(unsafe { clone_value::<String>(boxed.word()) }, "ab");
        let inline = LoggedValue::new(20_i64);
        let update = CommutedUpdate::new(|n: i64| n * 3 + 1);
        // SAFETY: the word holds an `i64`, the update's type.
        let result = unsafe { update.apply(inline.word()) };
        // SAFETY: the result is a live logged `i64`.
        assert_eq!(unsafe { clone_value::<i64>(result.word()) }, 61);
    }

    /// Closures kept inline (up to two words) and boxed (larger) each run
    /// once when applied, and are dropped once whether applied, dropped
    /// unapplied, or panicking.
    #[test]
    fn commuted_closures_inline_and_boxed_are_applied_or_dropped_once() {
        use std::sync::Arc;
        let drops = Arc::new(());
        // Two words: the `Arc` and an `i64`, inline.
        let small = {
            let (drops, n) = (drops.clone(), 5_i64);
            CommutedUpdate::new(move |v: i64| {
                let _keep = &drops;
                v + n
            })
        };
        // Four words, boxed.
        let large = {
            let (drops, n) = (drops.clone(), [1_i64, 2, 3]);
            CommutedUpdate::new(move |v: i64| {
                let _keep = &drops;
                v + n.iter().sum::<i64>()
            })
        };
        let value = LoggedValue::new(10_i64);
        for (update, expected) in [(small, 15), (large, 16)] {
            // SAFETY: the word holds an `i64`, the updates' type.
            let result = unsafe { update.apply(value.word()) };
            // SAFETY: the result is a live logged `i64`.
            assert_eq!(unsafe { clone_value::<i64>(result.word()) }, expected);
        }
        assert_eq!(Arc::strong_count(&drops), 1, "applied closures are dropped");
        let unapplied = [
            CommutedUpdate::new({
                let drops = drops.clone();
                move |v: i64| v + Arc::strong_count(&drops) as i64
            }),
            CommutedUpdate::new({
                let (drops, pad) = (drops.clone(), [0_u64; 4]);
                move |v: i64| v + Arc::strong_count(&drops) as i64 + pad[0] as i64
            }),
        ];
        assert_eq!(Arc::strong_count(&drops), 3);
        drop(unapplied);
        assert_eq!(
            Arc::strong_count(&drops),
            1,
            "unapplied closures are dropped"
        );
        for pad in [0_usize, 3] {
            let update = {
                let (drops, pad) = (drops.clone(), vec![0_u8; pad]);
                CommutedUpdate::new(move |_: i64| -> i64 {
                    let _keep = (&drops, &pad);
                    panic!("update panics")
                })
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: the word holds an `i64`, the update's type.
                unsafe { update.apply(value.word()) }
            }));
            assert!(result.is_err());
            assert_eq!(
                Arc::strong_count(&drops),
                1,
                "a panicking closure is dropped once"
            );
        }
        // Alignment above a word: boxed, whatever the size.
        #[repr(align(32))]
        struct Aligned(i64);
        let aligned = Aligned(4);
        let update = CommutedUpdate::new(move |v: i64| v * aligned.0);
        // SAFETY: the word holds an `i64`, the update's type.
        let result = unsafe { update.apply(value.word()) };
        // SAFETY: the result is a live logged `i64`.
        assert_eq!(unsafe { clone_value::<i64>(result.word()) }, 40);
    }

    #[test]
    fn recorded_values_follow_the_type() {
        let cases = [
            (LoggedValue::new(-3_i32), Some(-3)),
            (LoggedValue::new(true), Some(1)),
            (LoggedValue::new(String::from("no")), None),
        ];
        for (logged, expected) in cases {
            // SAFETY: the logged value is live.
            assert_eq!(unsafe { logged.kind().recorded(logged.word()) }, expected);
        }
    }
}
