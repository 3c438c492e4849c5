//! The transaction's logs: what it read (TVar and version) and what it will
//! write (TVar and new value, or commuted updates to apply at commit), with
//! checkpoints so that `or_else` can discard the writes of an alternative
//! that retried.
//!
//! Entries point to TVar headers without counting a handle: an attempt is
//! pinned (see `reclaim`) from before its first read until after its logs
//! are cleared, so no header it logged can be freed meanwhile. Values are
//! held as [`LoggedValue`]s: a word, inline or boxed, whatever their type;
//! commuted updates as [`CommutedUpdate`]s. Everything the logs own besides
//! those header pointers is `Send`: a finished attempt's logs may be
//! committed on another thread.

use crate::platform::Platform;
use crate::tvar::TVarHeader;
use crate::value::{CommutedUpdate, LoggedValue};
use crate::version_lock::LockWord;
use core::ptr::NonNull;
use rustc_hash::FxHashMap;
use smallvec::{smallvec, SmallVec};

/// One read: the TVar and the version its value had.
pub(crate) struct ReadEntry<P: Platform> {
    tvar: NonNull<TVarHeader<P>>,
    pub(crate) version: u64,
}

impl<P: Platform> ReadEntry<P> {
    pub(crate) fn tvar(&self) -> &TVarHeader<P> {
        // SAFETY: entries live only while their attempt is pinned (module docs).
        unsafe { self.tvar.as_ref() }
    }
}

/// Every read of the attempt, in order (a TVar read twice appears twice;
/// both entries carry the same version in a consistent attempt).
pub(crate) struct ReadSet<P: Platform> {
    pub(crate) entries: Vec<ReadEntry<P>>,
}

impl<P: Platform> ReadSet<P> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Forgets every read, keeping the memory.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    #[inline]
    pub(crate) fn push(&mut self, tvar: &TVarHeader<P>, version: u64) {
        self.entries.push(ReadEntry {
            tvar: NonNull::from(tvar),
            version,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What a write-set entry will install at commit.
pub(crate) enum Pending {
    /// A value written (or computed from a value read) by the transaction.
    Value(LoggedValue),
    /// Commuted updates, to be applied at commit to the value current then.
    Commutes(Box<Commutes>),
}

/// The commuted updates of one TVar, in the order they were made.
pub(crate) struct Commutes {
    /// Inline while there is one (the common case: no allocation for it).
    pub(crate) updates: SmallVec<[CommutedUpdate; 1]>,
    /// Only with the injected bug `commute-stale`: the value (and its
    /// version) read, without logging, at the first commute; the updates
    /// are applied to it instead of the value current at commit.
    pub(crate) stale_base: Option<(LoggedValue, u64)>,
    /// Set at commit, once the updates are applied: the value to install,
    /// and the version they were applied to.
    pub(crate) resolved: Option<(LoggedValue, u64)>,
    /// Set at commit when recording: the value they were applied to, as
    /// recorded.
    pub(crate) recorded_base: Option<i64>,
}

// Checked at compile time: the logs own nothing that must stay on one thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Pending>();
};

impl Pending {
    /// What an entry holds once write-back has taken its value: a unit,
    /// stored inline, which frees nothing. (A placeholder rather than an
    /// `Option` keeps the entry at 32 bytes: `Pending` has one niche, which
    /// `Commutes` takes.)
    #[inline]
    pub(crate) fn taken() -> Pending {
        Pending::Value(LoggedValue::new(()))
    }

    /// The value to install: the buffered one, or the commuted updates'
    /// result once commit has applied them.
    #[inline]
    pub(crate) fn value(&self) -> Option<&LoggedValue> {
        match self {
            Pending::Value(value) => Some(value),
            Pending::Commutes(commutes) => commutes.resolved.as_ref().map(|(value, _)| value),
        }
    }

    /// The value to install, taken out.
    #[inline]
    pub(crate) fn into_value(self) -> Option<LoggedValue> {
        match self {
            Pending::Value(value) => Some(value),
            Pending::Commutes(commutes) => commutes.resolved.map(|(value, _)| value),
        }
    }
}

/// One buffered write.
pub(crate) struct WriteEntry<P: Platform> {
    tvar: NonNull<TVarHeader<P>>,
    /// What to install (taken out at write-back, see [`Pending::taken`]).
    pub(crate) pending: Pending,
    /// The lock word this transaction replaced when it locked the TVar at
    /// commit, so that an abandoned commit can put it back, and so that the
    /// commit knows whether `retry` waiters must be woken.
    pub(crate) before_lock: LockWord,
}

// Commit walks the entries several times: keep them two to a cache line.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<WriteEntry<crate::platform::Std>>() == 32);

impl<P: Platform> WriteEntry<P> {
    pub(crate) fn tvar(&self) -> &TVarHeader<P> {
        // SAFETY: entries live only while their attempt is pinned (module docs).
        unsafe { self.tvar.as_ref() }
    }

    /// Whether the entry holds commuted updates (not yet turned into a
    /// value by a read).
    pub(crate) fn is_commute(&self) -> bool {
        matches!(self.pending, Pending::Commutes(_))
    }
}

/// The bit of a TVar's header in [`WriteSet::filter`]: its address in cache
/// lines (headers are line-aligned), modulo 64, so that TVars made one
/// after another (at a stride of a few lines, odd or even) spread over the
/// word rather than colliding.
#[inline]
fn filter_bit<P: Platform>(tvar: NonNull<TVarHeader<P>>) -> u64 {
    let line = tvar.as_ptr().addr() >> 6;
    1 << ((line ^ (line >> 6)) & 63)
}

/// Write sets up to this size are searched linearly; larger ones are indexed.
const LINEAR_SEARCH_LIMIT: usize = 16;

/// Buffered writes, one entry per TVar, applied only at commit.
pub(crate) struct WriteSet<P: Platform> {
    pub(crate) entries: Vec<WriteEntry<P>>,
    /// A one-word Bloom filter of the TVars with an entry ([`filter_bit`]):
    /// a TVar whose bit is clear has none, so looking up one that was not
    /// written (every read, and every first write) costs no search. Bits
    /// are only set, and cleared with the set: an entry that `roll_back`
    /// removes leaves its bit, which costs a search, never a wrong answer.
    filter: u64,
    /// Positions by header address, once the set is too large to search.
    index: FxHashMap<usize, usize>,
    /// How to undo the changes made to existing entries while a checkpoint
    /// is open, latest last.
    undo: Vec<Undo>,
    open_checkpoints: usize,
    /// Whether some entry was made a commute since the set was cleared
    /// (commit then has updates to apply).
    pub(crate) has_commutes: bool,
    /// The injected bugs of the write set (all off unless the runtime has
    /// one switched on; set when an attempt begins).
    pub(crate) bugs: WriteSetBugs,
}

/// The injected bugs a write set carries out itself (it does not know its
/// runtime).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WriteSetBugs {
    /// `write-index-miss`: switching to the index indexes only the newest
    /// entry.
    pub(crate) index_misses_early_writes: bool,
    /// `or-else-undo-overwrite`: rolling back drops the entries made since
    /// the checkpoint, but not the changes made to older ones.
    pub(crate) roll_back_keeps_overwrites: bool,
}

/// One change to undo when an `or_else` alternative is rolled back.
enum Undo {
    /// Entry `.0` held `.1` before.
    Restore(usize, Pending),
    /// Entry `.0` got one more commuted update.
    PopCommute(usize),
}

/// The state of a write set when an `or_else` alternative began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checkpoint {
    entries: usize,
    undo: usize,
}

impl<P: Platform> WriteSet<P> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            filter: 0,
            index: FxHashMap::default(),
            undo: Vec::new(),
            open_checkpoints: 0,
            has_commutes: false,
            bugs: WriteSetBugs::default(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every write (dropping the values it holds), keeping the
    /// memory.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.filter = 0;
        self.index.clear();
        self.undo.clear();
        self.open_checkpoints = 0;
        self.has_commutes = false;
    }

    #[inline]
    pub(crate) fn position(&self, tvar: &TVarHeader<P>) -> Option<usize> {
        let wanted = NonNull::from(tvar);
        if self.filter & filter_bit(wanted) == 0 {
            return None;
        }
        if self.entries.len() <= LINEAR_SEARCH_LIMIT {
            self.entries.iter().position(|e| e.tvar == wanted)
        } else {
            self.index.get(&wanted.as_ptr().addr()).copied()
        }
    }

    /// What is buffered for `tvar`, if this transaction wrote or commuted
    /// it.
    #[inline]
    pub(crate) fn get(&self, tvar: &TVarHeader<P>) -> Option<&Pending> {
        self.position(tvar).map(|i| &self.entries[i].pending)
    }

    /// Buffers `value` for `tvar`, replacing what was buffered (a value, or
    /// commuted updates).
    /// What entry `i` (a [`position`](Self::position)) will install.
    #[inline]
    pub(crate) fn pending(&self, i: usize) -> &Pending {
        &self.entries[i].pending
    }

    /// Replaces what entry `i` (a [`position`](Self::position)) will
    /// install with `value`.
    #[inline]
    pub(crate) fn overwrite_value(&mut self, i: usize, value: LoggedValue) {
        self.overwrite(i, Pending::Value(value));
    }

    /// Adds an entry for `tvar`, which has none ([`position`](Self::position)
    /// found none, and nothing was added since).
    #[inline]
    pub(crate) fn push_new(&mut self, tvar: &TVarHeader<P>, value: LoggedValue) {
        debug_assert!(self.position(tvar).is_none(), "the TVar has an entry");
        self.push(tvar, Pending::Value(value));
    }

    #[inline]
    pub(crate) fn insert(&mut self, tvar: &TVarHeader<P>, value: LoggedValue) {
        match self.position(tvar) {
            Some(i) => self.overwrite(i, Pending::Value(value)),
            None => self.push(tvar, Pending::Value(value)),
        }
    }

    /// Adds a commuted update of `tvar`: after the earlier ones, or applied
    /// at once to a buffered value. `stale_base` is the injected bug's
    /// (see [`Commutes::stale_base`]), used when the entry is new.
    pub(crate) fn commute(
        &mut self,
        tvar: &TVarHeader<P>,
        update: CommutedUpdate,
        stale_base: Option<(LoggedValue, u64)>,
    ) {
        let Some(i) = self.position(tvar) else {
            self.has_commutes = true;
            let commutes = Commutes {
                updates: smallvec![update],
                stale_base,
                resolved: None,
                recorded_base: None,
            };
            self.push(tvar, Pending::Commutes(Box::new(commutes)));
            return;
        };
        match &mut self.entries[i].pending {
            Pending::Commutes(commutes) => {
                commutes.updates.push(update);
                if self.open_checkpoints > 0 {
                    self.undo.push(Undo::PopCommute(i));
                }
            }
            Pending::Value(value) => {
                // SAFETY: the entry's value has the TVar's type, the one the
                // update was made for; the log owns it through the call.
                let updated = unsafe { update.apply(value.word()) };
                self.overwrite(i, Pending::Value(updated));
            }
        }
    }

    /// Turns the commuted updates of `tvar` into a plain buffered value:
    /// the updates applied in order to `current`, the value the transaction
    /// has just read (and logged). Returns that value.
    ///
    /// An open checkpoint must still be able to take back the updates made
    /// since it began; they cannot be un-applied, so each undo step that
    /// would have removed one restores instead the value computed before
    /// it. Rolling back then leaves a value where there were updates, which
    /// is the same at commit: the read stays in the read set, so commit
    /// finds the TVar unchanged since `current`, and applying the earlier
    /// updates to it then gives exactly that value.
    ///
    /// If an update panics, the entry is left with no updates (and every
    /// value in the log keeps its TVar's type); the caller must not let
    /// the attempt commit.
    pub(crate) fn resolve_commutes(
        &mut self,
        tvar: &TVarHeader<P>,
        current: LoggedValue,
    ) -> &LoggedValue {
        let i = self.position(tvar).expect("a commuted TVar has an entry");
        let Pending::Commutes(commutes) = &mut self.entries[i].pending else {
            unreachable!("only commuted entries are resolved")
        };
        let updates = core::mem::take(&mut commutes.updates);
        let pops = self
            .undo
            .iter()
            .filter(|u| matches!(u, Undo::PopCommute(e) if *e == i))
            .count();
        let first_undoable = updates.len().saturating_sub(pops);
        let mut before_undoable = Vec::with_capacity(pops);
        let mut value = current;
        for (n, update) in updates.into_iter().enumerate() {
            // SAFETY: `value` is a live logged value of the TVar's type, the
            // one the update was made for.
            let next = unsafe { update.apply(value.word()) };
            if n >= first_undoable {
                before_undoable.push(value);
            }
            value = next;
        }
        let mut before_undoable = before_undoable.into_iter();
        for undo in &mut self.undo {
            if matches!(undo, Undo::PopCommute(e) if *e == i) {
                if let Some(before) = before_undoable.next() {
                    *undo = Undo::Restore(i, Pending::Value(before));
                }
            }
        }
        self.entries[i].pending = Pending::Value(value);
        match &self.entries[i].pending {
            Pending::Value(value) => value,
            Pending::Commutes(_) => unreachable!("just stored a value"),
        }
    }

    /// Appends an entry for `tvar`, which has none.
    #[inline]
    fn push(&mut self, tvar: &TVarHeader<P>, pending: Pending) {
        if self.entries.len() == self.entries.capacity() {
            self.entries.reserve(1);
        }
        let len = self.entries.len();
        self.filter |= filter_bit(NonNull::from(tvar));
        // SAFETY: there is room for one more entry (reserved above); the
        // slot is written before the length covers it. (`push` builds the
        // entry on the stack around its growth call and copies it with
        // loads that stall on the stores just made.)
        unsafe {
            self.entries.as_mut_ptr().add(len).write(WriteEntry {
                tvar: NonNull::from(tvar),
                pending,
                before_lock: LockWord::unlocked(0),
            });
            self.entries.set_len(len + 1);
        }
        if self.entries.len() > LINEAR_SEARCH_LIMIT {
            self.reindex_from(self.entries.len() - 1);
        }
    }

    /// Replaces what entry `i` buffers, keeping the old one for an open
    /// checkpoint.
    fn overwrite(&mut self, i: usize, pending: Pending) {
        let previous = core::mem::replace(&mut self.entries[i].pending, pending);
        if self.open_checkpoints > 0 {
            self.undo.push(Undo::Restore(i, previous));
        }
    }

    #[cold]
    fn reindex_from(&mut self, start: usize) {
        if self.entries.len() > LINEAR_SEARCH_LIMIT {
            let from = if self.index.is_empty() && !self.bugs.index_misses_early_writes {
                0
            } else {
                start
            };
            for (i, entry) in self.entries.iter().enumerate().skip(from) {
                self.index.insert(entry.tvar.as_ptr().addr(), i);
            }
        }
    }

    pub(crate) fn checkpoint(&mut self) -> Checkpoint {
        self.open_checkpoints += 1;
        Checkpoint {
            entries: self.entries.len(),
            undo: self.undo.len(),
        }
    }

    /// Discards every write made since `checkpoint`.
    pub(crate) fn roll_back(&mut self, checkpoint: Checkpoint) {
        if self.bugs.roll_back_keeps_overwrites {
            self.undo.truncate(checkpoint.undo);
        }
        while self.undo.len() > checkpoint.undo {
            match self.undo.pop().expect("length checked") {
                Undo::Restore(i, previous) => self.entries[i].pending = previous,
                Undo::PopCommute(i) => match &mut self.entries[i].pending {
                    Pending::Commutes(commutes) => drop(commutes.updates.pop()),
                    _ => unreachable!("resolving commutes rewrites their undo steps"),
                },
            }
        }
        for removed in self.entries.drain(checkpoint.entries..) {
            self.index.remove(&removed.tvar.as_ptr().addr());
        }
        if self.entries.len() <= LINEAR_SEARCH_LIMIT {
            self.index.clear();
        }
        self.close_checkpoint();
    }

    /// Keeps the writes made since the checkpoint.
    pub(crate) fn keep(&mut self, _checkpoint: Checkpoint) {
        self.close_checkpoint();
    }

    fn close_checkpoint(&mut self) {
        self.open_checkpoints -= 1;
        if self.open_checkpoints == 0 {
            self.undo.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Stm, TVar};
    use proptest::prelude::*;

    /// One step on a write set: write TVar `n`, open an `or_else`
    /// checkpoint, or close the newest one, keeping or rolling back.
    #[derive(Debug, Clone)]
    enum Step {
        Write(usize),
        Open,
        Close { keep: bool },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (0..200_usize).prop_map(Step::Write),
            1 => Just(Step::Open),
            1 => any::<bool>().prop_map(|keep| Step::Close { keep }),
        ]
    }

    proptest! {
        /// The filter never hides an entry: `position` finds exactly the
        /// TVars a plain search of the entries finds, through growth past
        /// the linear-search limit (more TVars than the filter has bits),
        /// rollbacks that leave bits behind, and clearing.
        #[test]
        fn position_agrees_with_a_search_of_the_entries(
            steps in proptest::collection::vec(step(), 1..300),
        ) {
            let stm = Stm::new();
            let tvars: Vec<TVar<u64>> = (0..200).map(|n| stm.new_tvar(n)).collect();
            let mut set = WriteSet::<crate::Std>::new();
            let mut checkpoints = Vec::new();
            let check = |set: &WriteSet<crate::Std>| {
                for tvar in &tvars {
                    let searched = set
                        .entries
                        .iter()
                        .position(|e| core::ptr::eq(e.tvar(), tvar.header()));
                    prop_assert_eq!(set.position(tvar.header()), searched);
                }
                Ok(())
            };
            for step in steps {
                match step {
                    Step::Write(n) => set.insert(tvars[n].header(), LoggedValue::new(n as u64)),
                    Step::Open => checkpoints.push(set.checkpoint()),
                    Step::Close { keep } => match checkpoints.pop() {
                        Some(checkpoint) if keep => set.keep(checkpoint),
                        Some(checkpoint) => set.roll_back(checkpoint),
                        None => {}
                    },
                }
                check(&set)?;
            }
            set.clear();
            check(&set)?;
        }
    }
}
