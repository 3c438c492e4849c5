//! The names the engine gives to what it counts and reports: TVars by id,
//! transactions by the source line they come from.

use core::panic::Location;

/// Identifies a TVar within its runtime. Ids are handed out in creation
/// order, so a deterministic program gets the same ids in every run.
pub type TVarId = u64;

/// A call site of `atomically` (or of `TransactionQueue::add`): where a
/// transaction comes from, as conflict reports name it.
pub type CallSite = &'static Location<'static>;
