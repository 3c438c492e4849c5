//! Reading shuttle's deadlock message: which tasks were blocked. Shuttle
//! reports a deadlock as a panic whose text lists the unfinished tasks,
//! `deadlock! blocked tasks: [NAME (task ID[, detached][, pending
//! future])[\nBacktrace: ...], ...]`, where ID is the task id's debug form
//! (`TaskId(3)`, or `name(3)` for a named task); the explanation needs the
//! numbers, which are the tasks' thread slots in the recorded history.

/// The prefix of shuttle's deadlock message.
const DEADLOCK: &str = "deadlock!";

/// One task a deadlock left blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedTask {
    /// Its id: the thread slot its attempts are recorded with (0 is the
    /// main thread).
    pub id: u64,
    /// Its name, if it has one (`main-thread` for the main thread).
    pub name: Option<String>,
}

/// The blocked tasks of a deadlock message, in the order shuttle lists
/// them; `None` if `message` is not a deadlock. Entries whose id cannot be
/// read are skipped.
///
/// ```
/// use stm_check::explanation::{blocked_tasks, BlockedTask};
///
/// let message = "deadlock! blocked tasks: [main-thread (task main-thread(0)), \
///                <unknown> (task TaskId(3), detached)]";
/// assert_eq!(
///     blocked_tasks(message).unwrap(),
///     vec![
///         BlockedTask { id: 0, name: Some("main-thread".into()) },
///         BlockedTask { id: 3, name: None },
///     ]
/// );
/// assert_eq!(blocked_tasks("assertion failed"), None);
/// ```
pub fn blocked_tasks(message: &str) -> Option<Vec<BlockedTask>> {
    let rest = message.trim_start().strip_prefix(DEADLOCK)?;
    let mut tasks = Vec::new();
    let mut from = 0;
    while let Some(found) = rest[from..].find(" (task ") {
        let marker = from + found;
        // The name is what precedes the marker since the previous entry
        // (or its backtrace) ended: after the last separator.
        let name = rest[from..marker]
            .rsplit([',', '\n', '['])
            .next()
            .unwrap_or_default()
            .trim();
        let inside_start = marker + " (task ".len();
        let Some(inside_len) = closing_paren(&rest[inside_start..]) else {
            break;
        };
        let inside = &rest[inside_start..inside_start + inside_len];
        if let Some(id) = task_number(inside) {
            tasks.push(BlockedTask {
                id,
                name: (!name.is_empty() && name != "<unknown>").then(|| name.to_string()),
            });
        }
        from = inside_start + inside_len + 1;
    }
    Some(tasks)
}

/// The length of `text` up to the `)` that closes a `(` just before it.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The number of a task id's debug form: the digits in its first
/// parentheses (`TaskId(3)`, `main-thread(0)`, `"worker"(2)`).
fn task_number(id: &str) -> Option<u64> {
    let open = id.find('(')?;
    let close = open + id[open..].find(')')?;
    id[open + 1..close].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuttles_message_as_seen_in_a_users_test() {
        let message = "deadlock! blocked tasks: [main-thread (task main-thread(0)), <unknown> (task main-thread(3))]";
        let tasks = blocked_tasks(message).unwrap();
        assert_eq!(
            tasks,
            vec![
                BlockedTask {
                    id: 0,
                    name: Some("main-thread".into())
                },
                BlockedTask { id: 3, name: None },
            ]
        );
    }

    #[test]
    fn flags_and_backtraces_do_not_hide_the_next_task() {
        let message = "deadlock! blocked tasks: [worker (task \"worker\"(1), detached, pending future)\nBacktrace:\n0: f\n   at src/a.rs:1:2\n, <unknown> (task TaskId(2))]";
        let ids: Vec<u64> = blocked_tasks(message)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn other_messages_are_not_deadlocks() {
        assert_eq!(blocked_tasks("money vanished"), None);
        assert_eq!(blocked_tasks("deadlock! nothing listed"), Some(vec![]));
    }
}
