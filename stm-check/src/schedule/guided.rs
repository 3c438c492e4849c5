//! A shuttle scheduler guided by a recorded history: it makes the engine's
//! events (begins, reads, commits, ends) happen in the order a history
//! recorded them, so that an execution seen on real threads, which nothing
//! controlled, becomes an ordinary [`Schedule`](super::Schedule) that
//! saves, shrinks and replays like any other (wrap it in a
//! [`RecordingScheduler`](super::RecordingScheduler)).
//!
//! A history gives each attempt's begin and end positions on the engine's
//! event counter; the positions in between are its reads, which the
//! history lists without positions. [`event_owners`] places them: each
//! free position goes to an attempt open there with reads left, preferring
//! one whose next read's version is the one current at that position, and
//! keeping every attempt able to place all its reads before its end
//! (earliest deadline first). Threads map to shuttle tasks by spawn order
//! ([`thread_mappings`] lists the candidate mappings, the recorded
//! threads in the order of their first attempt first).
//!
//! The rule at each choice ([`GuidedScheduler`]), with `n` the number of
//! events the replay has recorded so far (read from its recorder through
//! an [`EventCounter`]):
//!
//! * the task that owns event `n + 1` runs, if it can and is not spinning
//!   (asking to yield: it waits for another task);
//! * otherwise (it is blocked, not yet spawned, or spinning), a runnable
//!   task with no recorded event left runs (the main thread, which spawns
//!   and joins: it cannot disturb the recorded order; ties: the lowest
//!   id), else the one whose next recorded event comes soonest, so that a
//!   task that must release something does, without jumping ahead of the
//!   recorded order more than needed;
//! * past the last recorded event, the replay's own deterministic
//!   [`fallback_choice`](super::fallback_choice).
//!
//! With bursts ([`GuidedScheduler::with_bursts`]), a task also runs a few
//! steps out of turn once a given number of events is recorded: how a
//! derivation repairs an order the events alone do not fix (a reader that
//! saw a committer's locks, taken before its commit event).
//!
//! With detours ([`GuidedScheduler::with_detours`], the fallback search
//! when the guided execution is not the recorded one), each execution after
//! the first picks `depth` random change points, as PCT does, and at each
//! runs a random other task for a few steps before the guide takes over
//! again: executions close to the recorded order first.

use super::fallback_choice;
use crate::history::shape::thread_order;
use crate::history::History;
use shuttle::scheduler::{Schedule as ShuttleSchedule, Scheduler, Task, TaskId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Reads how many events the execution under way has recorded so far.
pub type EventCounter = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The recorded thread that made each event of `history`, by real-time
/// position (index `p - 1` for position `p`), with reads placed as the
/// [module docs](self) say; `None` where no event of the history falls.
///
/// ```
/// use stm_check::history::History;
/// use stm_check::schedule::event_owners;
///
/// // Thread 5 begins at 1, reads at 3 (2 is thread 6's begin), ends at 5.
/// let json = r#"{"format": "stm-history", "version": 1, "transactions": [
///     {"id": 0, "thread": 5, "outcome": "committed", "begin": 1, "end": 5,
///      "reads": [{"key": 0, "version": 0}]},
///     {"id": 1, "thread": 6, "outcome": "committed", "begin": 2, "end": 4}]}"#;
/// let owners = event_owners(&History::from_json_str(json).unwrap());
/// assert_eq!(owners, vec![Some(5), Some(6), Some(5), Some(6), Some(5)]);
/// ```
pub fn event_owners(history: &History) -> Vec<Option<u64>> {
    let last = history
        .transactions
        .iter()
        .map(|t| t.end.max(t.begin))
        .max()
        .unwrap_or(0);
    let len = usize::try_from(last).unwrap_or(usize::MAX).min(1 << 24);
    let mut owners: Vec<Option<u64>> = vec![None; len];
    let mut place = |position: u64, thread: u64| {
        if let Some(slot) = usize::try_from(position)
            .ok()
            .and_then(|p| p.checked_sub(1))
            .and_then(|p| owners.get_mut(p))
        {
            slot.get_or_insert(thread);
        }
    };
    for t in &history.transactions {
        place(t.begin, t.thread);
        place(t.end, t.thread);
    }
    // When each version of each key was committed, for preferring reads
    // of the version current at a position.
    let mut commits: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
    for t in &history.transactions {
        if t.outcome == crate::history::Outcome::Committed {
            for w in &t.writes {
                commits.entry(w.key).or_default().push((t.end, w.version));
            }
        }
    }
    for list in commits.values_mut() {
        list.sort_unstable();
    }
    let current = |key: u64, position: u64| -> u64 {
        commits.get(&key).map_or(0, |list| {
            list.iter()
                .take_while(|(end, _)| *end < position)
                .last()
                .map_or(0, |&(_, version)| version)
        })
    };
    // Attempts with reads to place: (begin, end, thread, reads' keys and
    // versions), and how many are placed.
    let mut open: Vec<OpenAttempt> = history
        .transactions
        .iter()
        .filter(|t| !t.reads.is_empty() && t.end > t.begin)
        .map(|t| {
            (
                t.begin,
                t.end,
                t.thread,
                t.reads.iter().map(|r| (r.key, r.version)).collect(),
            )
        })
        .collect();
    open.sort_by_key(|a| (a.1, a.0));
    let mut placed = vec![0_usize; open.len()];
    let free: Vec<u64> = (1..=len as u64)
        .filter(|&p| owners[(p - 1) as usize].is_none())
        .collect();
    for (slot, &position) in free.iter().enumerate() {
        let candidates: Vec<usize> = (0..open.len())
            .filter(|&a| {
                open[a].0 < position && position < open[a].1 && placed[a] < open[a].3.len()
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        // Earliest deadline first is always feasible when anything is;
        // another candidate is taken only if its read fits here and the
        // rest still fits.
        let earliest = candidates[0];
        let fits = |a: usize| {
            let (key, version) = open[a].3[placed[a]];
            current(key, position) == version
        };
        let mut choice = earliest;
        if !fits(earliest) {
            if let Some(&better) = candidates.iter().skip(1).find(|&&a| {
                fits(a) && {
                    let mut trial = placed.clone();
                    trial[a] += 1;
                    feasible(&open, &trial, &free[slot + 1..])
                }
            }) {
                choice = better;
            }
        }
        owners[(position - 1) as usize] = Some(open[choice].2);
        placed[choice] += 1;
    }
    owners
}

/// An attempt whose reads are placed: its begin, end, thread, and reads'
/// keys and versions.
type OpenAttempt = (u64, u64, u64, Vec<(u64, u64)>);

/// Whether the reads still to place fit in the `free` positions, each in
/// its attempt's window (earliest deadline first; `open` sorted by end).
fn feasible(open: &[OpenAttempt], placed: &[usize], free: &[u64]) -> bool {
    let mut left: Vec<usize> = open
        .iter()
        .zip(placed)
        .map(|(a, &p)| a.3.len() - p)
        .collect();
    for &position in free {
        if let Some(a) =
            (0..open.len()).find(|&a| left[a] > 0 && open[a].0 < position && position < open[a].1)
        {
            left[a] -= 1;
        }
        if (0..open.len()).any(|a| left[a] > 0 && open[a].1 <= position) {
            return false;
        }
    }
    left.iter().all(|&l| l == 0)
}

/// The mappings of `history`'s threads to shuttle tasks worth trying, at
/// most `limit`: the program's threads are tasks `1..=tasks` (0 is the
/// main thread), spawned in order. The recorded threads, in the order of
/// their first attempt, are given to those tasks in every order
/// (lexicographic, the identity first); recorded threads beyond `tasks`
/// (threads the program's threads started, such as a queue's workers) go
/// to tasks `tasks + 1, ...` in order.
///
/// ```
/// use stm_check::history::History;
/// use stm_check::schedule::thread_mappings;
///
/// let json = r#"{"format": "stm-history", "version": 1, "transactions": [
///     {"id": 0, "thread": 9, "outcome": "committed", "begin": 1, "end": 2},
///     {"id": 1, "thread": 4, "outcome": "committed", "begin": 3, "end": 4}]}"#;
/// let mappings = thread_mappings(&History::from_json_str(json).unwrap(), 2, 10);
/// assert_eq!(mappings.len(), 2);
/// assert_eq!(mappings[0][&9], 1);
/// assert_eq!(mappings[0][&4], 2);
/// assert_eq!(mappings[1][&9], 2);
/// ```
pub fn thread_mappings(history: &History, tasks: usize, limit: usize) -> Vec<BTreeMap<u64, usize>> {
    let threads = thread_order(history);
    let permuted = threads.len().min(tasks);
    let (head, tail) = threads.split_at(permuted);
    let mut out = Vec::new();
    let mut chosen = Vec::new();
    permutations(tasks, permuted, &mut chosen, &mut |order: &[usize]| {
        if out.len() >= limit {
            return false;
        }
        let mut mapping: BTreeMap<u64, usize> = head
            .iter()
            .zip(order)
            .map(|(&t, &task)| (t, task))
            .collect();
        for (i, &t) in tail.iter().enumerate() {
            mapping.insert(t, tasks + 1 + i);
        }
        out.push(mapping);
        true
    });
    out
}

/// Calls `each` with every ordered choice of `k` of the tasks `1..=n`, in
/// lexicographic order, until it returns false.
fn permutations(
    n: usize,
    k: usize,
    chosen: &mut Vec<usize>,
    each: &mut dyn FnMut(&[usize]) -> bool,
) -> bool {
    if chosen.len() == k {
        return each(chosen);
    }
    for task in 1..=n {
        if chosen.contains(&task) {
            continue;
        }
        chosen.push(task);
        let go_on = permutations(n, k, chosen, each);
        chosen.pop();
        if !go_on {
            return false;
        }
    }
    true
}

/// The recorded order as tasks: which task owns each event.
#[derive(Debug, Clone, Default)]
pub struct GuidePlan {
    /// The task owning event `p`, at index `p - 1`.
    owners: Vec<Option<usize>>,
    /// Each task's events' positions, in order.
    by_task: BTreeMap<usize, Vec<u64>>,
}

impl GuidePlan {
    /// The plan for events owned as `owners` says ([`event_owners`]), with
    /// recorded threads mapped to tasks by `mapping` (a thread it does not
    /// map owns nothing).
    pub fn new(owners: &[Option<u64>], mapping: &BTreeMap<u64, usize>) -> GuidePlan {
        let owners: Vec<Option<usize>> = owners
            .iter()
            .map(|o| o.and_then(|t| mapping.get(&t).copied()))
            .collect();
        let mut by_task: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for (index, owner) in owners.iter().enumerate() {
            if let Some(task) = owner {
                by_task.entry(*task).or_default().push(index as u64 + 1);
            }
        }
        GuidePlan { owners, by_task }
    }

    /// The number of events the plan orders.
    pub fn events(&self) -> usize {
        self.owners.len()
    }

    /// The task owning event `position` (from 1), if the plan says.
    pub fn owner(&self, position: u64) -> Option<usize> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.owners.get(index).copied().flatten()
    }

    /// The position of `task`'s first event after `done` events, if any.
    fn next_event_of(&self, task: usize, done: u64) -> Option<u64> {
        let positions = self.by_task.get(&task)?;
        let at = positions.partition_point(|&p| p <= done);
        positions.get(at).copied()
    }
}

/// Follows a [`GuidePlan`] as the [module docs](self) say: one execution,
/// or with detours a search of several.
pub struct GuidedScheduler {
    plan: Arc<GuidePlan>,
    events: EventCounter,
    executions: usize,
    max_executions: usize,
    detours: Option<Detours>,
    bursts: Vec<Burst>,
    /// The burst under way: its task and the steps it has left.
    burst: Option<(usize, usize)>,
    /// Which bursts have run in this execution.
    burst_done: Vec<bool>,
}

/// A repair of the guided order: once `at_event` events are recorded, run
/// `task` for `steps` scheduling steps before the guide takes over again
/// (so that, say, a committer takes its locks before the reader that saw
/// them locked on real threads reads). See
/// [`GuidedScheduler::with_bursts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// Events recorded when the burst starts.
    pub at_event: u64,
    /// The task that runs.
    pub task: usize,
    /// For how many steps (while it can run).
    pub steps: usize,
}

impl std::fmt::Debug for GuidedScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuidedScheduler")
            .field("events", &self.plan.events())
            .field("executions", &self.executions)
            .field("max_executions", &self.max_executions)
            .finish_non_exhaustive()
    }
}

/// PCT-like change points around the guided order.
#[derive(Debug)]
struct Detours {
    rng: u64,
    depth: usize,
    /// The steps (from 1) of this execution where a detour starts.
    at: Vec<usize>,
    /// Steps so far in this execution.
    step: usize,
    /// Steps of the last execution (where change points are drawn).
    last_steps: usize,
    /// The task on a detour and the steps it has left.
    current: Option<(usize, usize)>,
}

impl Detours {
    fn next(&mut self) -> u64 {
        // splitmix64: small, seeded, the same on every machine.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

impl GuidedScheduler {
    /// One execution following `plan`; `events` reads the replay's event
    /// count (see [`EventCounter`]).
    pub fn new(plan: Arc<GuidePlan>, events: EventCounter) -> Self {
        GuidedScheduler {
            plan,
            events,
            executions: 0,
            max_executions: 1,
            detours: None,
            bursts: Vec::new(),
            burst: None,
            burst_done: Vec::new(),
        }
    }

    /// Runs these bursts besides the guide (each at most once per
    /// execution): where the recorded order alone does not say enough, as
    /// when a task saw another's commit half done (its locks taken, its
    /// commit event not yet recorded).
    pub fn with_bursts(mut self, bursts: Vec<Burst>) -> Self {
        self.burst_done = vec![false; bursts.len()];
        self.bursts = bursts;
        self
    }

    /// `executions` executions instead of one: the first follows the plan,
    /// each later one takes `depth` detours at change points drawn from
    /// `seed` (see the [module docs](self)).
    pub fn with_detours(mut self, executions: usize, depth: usize, seed: u64) -> Self {
        self.max_executions = executions;
        self.detours = Some(Detours {
            rng: seed,
            depth,
            at: Vec::new(),
            step: 0,
            last_steps: self.plan.events() * 4,
            current: None,
        });
        self
    }

    /// The guide's own choice, before detours.
    fn guided_choice(
        &self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> TaskId {
        let done = (self.events)();
        if done as usize >= self.plan.events() {
            return fallback_choice(runnable_tasks, current_task, is_yielding);
        }
        let spinning = |id: usize| is_yielding && current_task.map(usize::from) == Some(id);
        let ids: Vec<usize> = runnable_tasks.iter().map(|t| usize::from(t.id())).collect();
        if let Some(due) = self.plan.owner(done + 1) {
            if ids.contains(&due) && !spinning(due) {
                return TaskId::from(due);
            }
        }
        let soonest = ids
            .iter()
            .filter(|&&id| !spinning(id) || ids.len() == 1)
            .min_by_key(|&&id| {
                let next = self.plan.next_event_of(id, done);
                (next.is_some(), next, id)
            });
        match soonest {
            Some(&id) => TaskId::from(id),
            None => fallback_choice(runnable_tasks, current_task, is_yielding),
        }
    }
}

impl Scheduler for GuidedScheduler {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        if self.executions >= self.max_executions {
            return None;
        }
        self.executions += 1;
        self.burst = None;
        self.burst_done.iter_mut().for_each(|b| *b = false);
        let first = self.executions == 1;
        if let Some(d) = &mut self.detours {
            if d.step > 0 {
                d.last_steps = d.step;
            }
            d.step = 0;
            d.current = None;
            d.at.clear();
            if !first {
                for _ in 0..d.depth {
                    let at = 1 + d.below(d.last_steps.max(1));
                    d.at.push(at);
                }
            }
        }
        Some(ShuttleSchedule::new(0))
    }

    fn next_task(
        &mut self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let runnable = |id: usize| runnable_tasks.iter().any(|t| usize::from(t.id()) == id);
        if !self.bursts.is_empty() {
            if let Some((task, left)) = self.burst {
                if left > 0 && runnable(task) {
                    self.burst = Some((task, left - 1));
                    return Some(TaskId::from(task));
                }
                self.burst = None;
            }
            let done = (self.events)();
            let due = (0..self.bursts.len()).find(|&i| {
                !self.burst_done[i]
                    && self.bursts[i].at_event == done
                    && runnable(self.bursts[i].task)
            });
            if let Some(i) = due {
                self.burst_done[i] = true;
                let Burst { task, steps, .. } = self.bursts[i];
                self.burst = Some((task, steps.saturating_sub(1)));
                return Some(TaskId::from(task));
            }
        }
        let guided = self.guided_choice(runnable_tasks, current_task, is_yielding);
        let Some(d) = &mut self.detours else {
            return Some(guided);
        };
        d.step += 1;
        if let Some((task, left)) = d.current {
            if left > 0 && runnable(task) {
                d.current = Some((task, left - 1));
                return Some(TaskId::from(task));
            }
            d.current = None;
        }
        if d.at.contains(&d.step) {
            let others: Vec<usize> = runnable_tasks
                .iter()
                .map(|t| usize::from(t.id()))
                .filter(|&id| id != usize::from(guided))
                .collect();
            if !others.is_empty() {
                let task = others[d.below(others.len())];
                let length = 1 + d.below(8);
                d.current = Some((task, length - 1));
                return Some(TaskId::from(task));
            }
        }
        Some(guided)
    }

    fn next_u64(&mut self) -> u64 {
        self.detours.as_mut().map_or(0, Detours::next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(json: &str) -> History {
        History::from_json_str(json).unwrap()
    }

    #[test]
    fn reads_go_where_their_version_is_current() {
        // Thread 1 commits version 1 of key 0 at 3; thread 2's attempt is
        // open from 1 to 6 and read version 1, so its read is after 3.
        let h = history(
            r#"{"format": "stm-history", "version": 1, "transactions": [
            {"id": 0, "thread": 2, "outcome": "committed", "begin": 1, "end": 6,
             "reads": [{"key": 0, "version": 1}]},
            {"id": 1, "thread": 1, "outcome": "committed", "begin": 2, "end": 4,
             "commit_version": 1, "reads": [{"key": 0, "version": 0}],
             "writes": [{"key": 0, "version": 1}]}]}"#,
        );
        let owners = event_owners(&h);
        assert_eq!(
            owners,
            vec![Some(2), Some(1), Some(1), Some(1), Some(2), Some(2)]
        );
        let mapping = BTreeMap::from([(2, 1), (1, 2)]);
        let plan = GuidePlan::new(&owners, &mapping);
        assert_eq!(plan.events(), 6);
        assert_eq!(plan.owner(1), Some(1));
        assert_eq!(plan.owner(3), Some(2));
        assert_eq!(plan.next_event_of(1, 1), Some(5));
        assert_eq!(plan.next_event_of(2, 4), None);
    }

    #[test]
    fn a_read_that_cannot_wait_is_placed_first() {
        // Two open attempts and one free slot each before their ends: the
        // one ending first takes the first slot even if the other's read
        // fits there better.
        let h = history(
            r#"{"format": "stm-history", "version": 1, "transactions": [
            {"id": 0, "thread": 1, "outcome": "aborted", "begin": 1, "end": 4,
             "reads": [{"key": 5, "version": 9}]},
            {"id": 1, "thread": 2, "outcome": "aborted", "begin": 2, "end": 6,
             "reads": [{"key": 6, "version": 0}]}]}"#,
        );
        let owners = event_owners(&h);
        assert_eq!(owners[2], Some(1), "{owners:?}");
        assert_eq!(owners[4], Some(2), "{owners:?}");
    }
}
