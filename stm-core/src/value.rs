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
pub(crate) struct CommutedUpdate {
    apply: Box<dyn FnOnce(*mut ()) -> LoggedValue + Send>,
}

impl CommutedUpdate {
    pub(crate) fn new<T: Clone + Send + Sync + 'static>(
        f: impl FnOnce(T) -> T + Send + 'static,
    ) -> Self {
        CommutedUpdate {
            apply: Box::new(move |word| {
                // SAFETY: `apply`'s contract: the word holds a live `T`.
                let current = unsafe { clone_value::<T>(word) };
                LoggedValue::new(f(current))
            }),
        }
    }

    /// The new value: `f` applied to a clone of the value `word` holds.
    ///
    /// # Safety
    /// `word` holds a value of the type this update was made for (its
    /// TVar's), not freed before the call returns.
    pub(crate) unsafe fn apply(self, word: *mut ()) -> LoggedValue {
        (self.apply)(word)
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
