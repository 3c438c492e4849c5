//! The transaction's logs: what it read (TVar and version) and what it will
//! write (TVar and new value), with checkpoints so that `or_else` can discard
//! the writes of an alternative that retried.
//!
//! Entries point to TVar headers without counting a handle: an attempt is
//! pinned (see `reclaim`) from before its first read until after its logs
//! are cleared, so no header it logged can be freed meanwhile. Values are
//! held as [`LoggedValue`]s: a word, inline or boxed, whatever their type.

use crate::platform::Platform;
use crate::tvar::TVarHeader;
use crate::value::LoggedValue;
use crate::version_lock::LockWord;
use core::ptr::NonNull;
use rustc_hash::FxHashMap;

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

/// One buffered write.
pub(crate) struct WriteEntry<P: Platform> {
    tvar: NonNull<TVarHeader<P>>,
    /// The value to install (taken out at write-back).
    pub(crate) value: Option<LoggedValue>,
    /// The lock word this transaction replaced when it locked the TVar at
    /// commit, so that an abandoned commit can put it back, and so that the
    /// commit knows whether `retry` waiters must be woken.
    pub(crate) before_lock: LockWord,
}

impl<P: Platform> WriteEntry<P> {
    pub(crate) fn tvar(&self) -> &TVarHeader<P> {
        // SAFETY: entries live only while their attempt is pinned (module docs).
        unsafe { self.tvar.as_ref() }
    }
}

/// Write sets up to this size are searched linearly; larger ones are indexed.
const LINEAR_SEARCH_LIMIT: usize = 16;

/// Buffered writes, one entry per TVar, applied only at commit.
pub(crate) struct WriteSet<P: Platform> {
    pub(crate) entries: Vec<WriteEntry<P>>,
    /// Positions by header address, once the set is too large to search.
    index: FxHashMap<usize, usize>,
    /// Values overwritten while a checkpoint is open: (entry, previous value).
    undo: Vec<(usize, Option<LoggedValue>)>,
    open_checkpoints: usize,
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
            index: FxHashMap::default(),
            undo: Vec::new(),
            open_checkpoints: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every write (dropping the values it holds), keeping the
    /// memory.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.undo.clear();
        self.open_checkpoints = 0;
    }

    #[inline]
    pub(crate) fn position(&self, tvar: &TVarHeader<P>) -> Option<usize> {
        let wanted = NonNull::from(tvar);
        if self.entries.len() <= LINEAR_SEARCH_LIMIT {
            self.entries.iter().position(|e| e.tvar == wanted)
        } else {
            self.index.get(&wanted.as_ptr().addr()).copied()
        }
    }

    /// The value buffered for `tvar`, if this transaction wrote it.
    #[inline]
    pub(crate) fn get(&self, tvar: &TVarHeader<P>) -> Option<&LoggedValue> {
        self.position(tvar)
            .and_then(|i| self.entries[i].value.as_ref())
    }

    #[inline]
    pub(crate) fn insert(&mut self, tvar: &TVarHeader<P>, value: LoggedValue) {
        match self.position(tvar) {
            Some(i) => self.overwrite(i, value),
            None => {
                if self.entries.len() == self.entries.capacity() {
                    self.entries.reserve(1);
                }
                let len = self.entries.len();
                // SAFETY: there is room for one more entry (reserved above);
                // the slot is written before the length covers it. (`push`
                // builds the entry on the stack around its growth call and
                // copies it with loads that stall on the stores just made.)
                unsafe {
                    self.entries.as_mut_ptr().add(len).write(WriteEntry {
                        tvar: NonNull::from(tvar),
                        value: Some(value),
                        before_lock: LockWord::unlocked(0),
                    });
                    self.entries.set_len(len + 1);
                }
                if self.entries.len() > LINEAR_SEARCH_LIMIT {
                    self.reindex_from(self.entries.len() - 1);
                }
            }
        }
    }

    /// Replaces the value buffered in entry `i`, keeping the old one for an
    /// open checkpoint.
    fn overwrite(&mut self, i: usize, value: LoggedValue) {
        let previous = self.entries[i].value.replace(value);
        if self.open_checkpoints > 0 {
            self.undo.push((i, previous));
        }
    }

    #[cold]
    fn reindex_from(&mut self, start: usize) {
        if self.entries.len() > LINEAR_SEARCH_LIMIT {
            let from = if self.index.is_empty() { 0 } else { start };
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
        while self.undo.len() > checkpoint.undo {
            let (i, previous) = self.undo.pop().expect("length checked");
            self.entries[i].value = previous;
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
