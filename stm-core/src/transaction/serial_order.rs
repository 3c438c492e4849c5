//! The serial order of the items a run committed, worked out only when
//! asked for: an ordered run's is the numbers below the final turn; a run
//! in any order's is the merge of its workers' lists by commit point.
//! Merging 100,000 items takes a worker's core for about a millisecond
//! after the run, while the others idle, so `run` returns without it.

use super::worker::Committed;
use super::ItemId;
use core::cell::OnceCell;

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
            Committers::Workers(lists) => lists.iter().map(|list| list.len() as u64).sum(),
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
    let total = lists.iter().map(Vec::len).sum();
    let mut merged = Vec::with_capacity(total);
    let mut positions = vec![0; lists.len()];
    while merged.len() < total {
        let (list, _) = lists
            .iter()
            .enumerate()
            .filter_map(|(i, list)| list.get(positions[i]).map(|(point, _)| (i, *point)))
            .min_by_key(|&(_, point)| point)
            .expect("items are left");
        merged.push(lists[list][positions[list]].1);
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
        let order = SerialOrder::of_workers(vec![
            vec![(2, ItemId(0)), (5, ItemId(1)), (5, ItemId(2))],
            vec![(1, ItemId(7)), (3, ItemId(8)), (9, ItemId(9))],
            vec![],
        ]);
        assert_eq!(order.len(), 6);
        let expected = [7, 0, 8, 1, 2, 9].map(ItemId);
        assert_eq!(order.items(), expected);
    }

    #[test]
    fn an_ordered_run_commits_the_items_below_its_turn() {
        let order = SerialOrder::ordered(3);
        assert_eq!(order.len(), 3);
        assert_eq!(order.items(), [0, 1, 2].map(ItemId));
    }
}
