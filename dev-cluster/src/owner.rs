//! Who owns a running server: the process that started it (or adopted it), named in the data folder's
//! `learnlog.owner` by its pid and start time.

use std::path::Path;

use crate::{ClusterError, OWNER_FILE};

/// A process, told apart from a later one given the same pid by its start time (in clock ticks after boot,
/// `/proc/<pid>/stat`'s 22nd field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Process {
    pid: u32,
    started: u64,
}

impl Process {
    pub(crate) fn current() -> Option<Process> {
        let pid = std::process::id();
        Some(Process { pid, started: start_time(pid)? })
    }

    /// `<pid> <start time>`, as [`write_owner`] writes it.
    pub(crate) fn parse(text: &str) -> Option<Process> {
        let mut fields = text.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        let started = fields.next()?.parse().ok()?;
        Some(Process { pid, started })
    }

    pub(crate) fn is_running(self) -> bool {
        start_time(self.pid) == Some(self.started)
    }
}

/// When process `pid` started, if it is running.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: the fields after it are counted from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Names this process as the owner of the server on `data_dir`.
pub(crate) fn write_owner(data_dir: &Path) -> Result<(), ClusterError> {
    let owner = Process::current().ok_or_else(|| ClusterError::Command {
        program: "/proc/self/stat".to_owned(),
        detail: "this process's start time cannot be read".to_owned(),
    })?;
    std::fs::write(data_dir.join(OWNER_FILE), format!("{} {}\n", owner.pid, owner.started))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_its_pid_and_start_time() {
        assert_eq!(Process::parse("4242 987654\n"), Some(Process { pid: 4242, started: 987654 }));
        assert_eq!(Process::parse("4242"), None);
        assert_eq!(Process::parse("not a pid"), None);
    }

    #[test]
    fn this_process_is_running_and_a_reused_pid_is_not_it() {
        let this = Process::current().expect("this process's start time");
        assert!(this.is_running());
        assert!(!Process { started: this.started + 1, ..this }.is_running(), "another process with its pid");
    }
}
