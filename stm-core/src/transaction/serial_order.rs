//! The serial order of the items a run committed, worked out only when
//! asked for: an ordered run's is the numbers below the final turn; a run
//! in any order's is the merge of its workers' lists by commit point.
//! Merging 100,000 items takes a worker's core for about a millisecond
//! after the run, while the others idle, so `run` returns without it.
//!
//! A worker keeps what it committed as runs of consecutive items committed
//! at one point (a group commits up to 16 at once): a run's list is then a
//! few kilobytes rather than 16 bytes per item, whose growth, in fresh
//! memory every run, cost page faults and copies on the workers' time.

use super::ItemId;
use core::cell::OnceCell;

/// Consecutive items a worker committed at one point of the serial order:
/// a group, or one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CommittedRun {
    point: u64,
    first: u64,
    count: u64,
}

/// The items a worker committed in a run in any order, each with its
/// place in the serial order (`Transaction::serialization_point`), in the
/// order the worker committed them.
#[derive(Debug, Default)]
pub(crate) struct Committed {
    runs: Vec<CommittedRun>,
}

impl Committed {
    /// Item `id` committed at `point`, after every item pushed so far.
    #[inline]
    pub(crate) fn push(&mut self, point: u64, id: ItemId) {
        if let Some(last) = self.runs.last_mut() {
            if last.point == point && last.first + last.count == id.0 {
                last.count += 1;
                return;
            }
        }
        self.runs.push(CommittedRun {
            point,
            first: id.0,
            count: 1,
        });
    }

    /// How many items committed.
    fn len(&self) -> u64 {
        self.runs.iter().map(|run| run.count).sum()
    }
}

/// The items a run committed, in its serial order.
#[derive(Debug, Default)]
pub(crate) struct SerialOrder {
    how: Committers,
    merged: OnceCell<Vec<ItemId>>,
}

#[derive(Debug)]
enum Committers {
    /// An ordered run: items `0..n`.
    Ordered(u64),
    /// A run in any order: each worker's items, in its commit order.
    Workers(Vec<Committed>),
}

impl Default for Committers {
    fn default() -> Self {
        Committers::Ordered(0)
    }
}

impl SerialOrder {
    /// Items `0..committed`, of an ordered run.
    pub(crate) fn ordered(committed: u64) -> Self {
        SerialOrder {
            how: Committers::Ordered(committed),
            merged: OnceCell::new(),
        }
    }

    /// What each worker of a run in any order committed.
    pub(crate) fn of_workers(lists: Vec<Committed>) -> Self {
        SerialOrder {
            how: Committers::Workers(lists),
            merged: OnceCell::new(),
        }
    }

    /// How many items committed.
    pub(crate) fn len(&self) -> u64 {
        match &self.how {
            Committers::Ordered(committed) => *committed,
            Committers::Workers(lists) => lists.iter().map(Committed::len).sum(),
        }
    }

    /// The items, in serial order.
    pub(crate) fn items(&self) -> &[ItemId] {
        self.merged.get_or_init(|| match &self.how {
            Committers::Ordered(committed) => (0..*committed).map(ItemId).collect(),
            Committers::Workers(lists) => merge_by_commit_point(lists),
        })
    }
}

/// Merges the workers' lists, each in its worker's commit order (so by
/// increasing commit point), into one list by commit point.
fn merge_by_commit_point(lists: &[Committed]) -> Vec<ItemId> {
    let total = lists.iter().map(Committed::len).sum::<u64>() as usize;
    let mut merged = Vec::with_capacity(total);
    let mut positions = vec![0; lists.len()];
    while merged.len() < total {
        let (list, run) = lists
            .iter()
            .enumerate()
            .filter_map(|(i, list)| list.runs.get(positions[i]).map(|run| (i, run)))
            .min_by_key(|(_, run)| run.point)
            .expect("items are left");
        merged.extend((run.first..run.first + run.count).map(ItemId));
        positions[list] += 1;
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_lists_merge_by_commit_point() {
        // A group commits several items at one point, in group order.
        let list = |items: &[(u64, u64)]| {
            let mut committed = Committed::default();
            for &(point, id) in items {
                committed.push(point, ItemId(id));
            }
            committed
        };
        let order = SerialOrder::of_workers(vec![
            list(&[(2, 0), (5, 1), (5, 2), (6, 4), (6, 5)]),
            list(&[(1, 7), (3, 8), (9, 9)]),
            list(&[]),
        ]);
        assert_eq!(order.len(), 8);
        let expected = [7, 0, 8, 1, 2, 4, 5, 9].map(ItemId);
        assert_eq!(order.items(), expected);
    }

    #[test]
    fn consecutive_items_committed_at_one_point_make_one_run() {
        let mut committed = Committed::default();
        // A group of three, one item alone, then two items at one point
        // that are not consecutive (an item between them was not run).
        for (point, id) in [(4, 10), (4, 11), (4, 12), (5, 13), (6, 14), (6, 16)] {
            committed.push(point, ItemId(id));
        }
        let run = |point, first, count| CommittedRun {
            point,
            first,
            count,
        };
        assert_eq!(
            committed.runs,
            [run(4, 10, 3), run(5, 13, 1), run(6, 14, 1), run(6, 16, 1)]
        );
        assert_eq!(committed.len(), 6);
    }

    #[test]
    fn an_ordered_run_commits_the_items_below_its_turn() {
        let order = SerialOrder::ordered(3);
        assert_eq!(order.len(), 3);
        assert_eq!(order.items(), [0, 1, 2].map(ItemId));
    }
}
