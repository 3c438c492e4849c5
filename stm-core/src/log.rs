//! The transaction's logs: what it read (TVar and version) and what it will
//! write (TVar and new value), with checkpoints so that `or_else` can discard
//! the writes of an alternative that retried.

use crate::platform::{Arc, Platform};
use crate::tvar::{AnyTVar, TVarId};
use crate::version_lock::LockWord;
use core::any::Any;
use rustc_hash::FxHashMap;

/// One read: the TVar and the version its value had.
pub(crate) struct ReadEntry<P: Platform> {
    pub(crate) tvar: Arc<dyn AnyTVar<P>>,
    pub(crate) version: u64,
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

    pub(crate) fn push(&mut self, tvar: Arc<dyn AnyTVar<P>>, version: u64) {
        self.entries.push(ReadEntry { tvar, version });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The logs of a finished attempt, emptied: their memory, kept by the
/// thread (see [`Platform::keep_spare`]) for its next attempt.
pub(crate) struct SpareLogs<P: Platform> {
    pub(crate) reads: ReadSet<P>,
    pub(crate) writes: WriteSet<P>,
}

/// One buffered write.
pub(crate) struct WriteEntry<P: Platform> {
    pub(crate) tvar: Arc<dyn AnyTVar<P>>,
    /// The value to install; after write-back, the value it replaced,
    /// dropped with the log once every lock is released.
    pub(crate) value: Box<dyn Any + Send>,
    /// The lock word this transaction replaced when it locked the TVar at
    /// commit, so that an abandoned commit can put it back.
    pub(crate) before_lock: LockWord,
}

/// Write sets up to this size are searched linearly; larger ones are indexed.
const LINEAR_SEARCH_LIMIT: usize = 16;

/// Buffered writes, one entry per TVar, applied only at commit.
pub(crate) struct WriteSet<P: Platform> {
    pub(crate) entries: Vec<WriteEntry<P>>,
    /// Positions by TVar id, once the set is too large to search (ids are
    /// counters: Fx hashing, no per-set random state to set up).
    index: FxHashMap<TVarId, usize>,
    /// Values overwritten while a checkpoint is open: (entry, previous value).
    undo: Vec<(usize, Box<dyn Any + Send>)>,
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

    pub(crate) fn position(&self, id: TVarId) -> Option<usize> {
        if self.entries.len() <= LINEAR_SEARCH_LIMIT {
            self.entries.iter().position(|e| e.tvar.id() == id)
        } else {
            self.index.get(&id).copied()
        }
    }

    pub(crate) fn get(&self, id: TVarId) -> Option<&(dyn Any + Send)> {
        self.position(id).map(|i| &*self.entries[i].value)
    }

    pub(crate) fn insert(&mut self, tvar: Arc<dyn AnyTVar<P>>, value: Box<dyn Any + Send>) {
        match self.position(tvar.id()) {
            Some(i) => {
                let previous = core::mem::replace(&mut self.entries[i].value, value);
                if self.open_checkpoints > 0 {
                    self.undo.push((i, previous));
                }
            }
            None => {
                self.entries.push(WriteEntry {
                    tvar,
                    value,
                    before_lock: LockWord::unlocked(0),
                });
                self.reindex_from(self.entries.len() - 1);
            }
        }
    }

    fn reindex_from(&mut self, start: usize) {
        if self.entries.len() > LINEAR_SEARCH_LIMIT {
            let from = if self.index.is_empty() { 0 } else { start };
            for (i, entry) in self.entries.iter().enumerate().skip(from) {
                self.index.insert(entry.tvar.id(), i);
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
            self.index.remove(&removed.tvar.id());
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
