//! Noticing changes of `functions/` for hot deploy (`spec/HTTP.md`, "Hot deploy"): inotify
//! (through the `notify` crate) where it works, polling where it does not (NFS, where inotify
//! never hears of another machine's writes). Either way a change ends in
//! [`Deployer::reconcile`], which does the real work and is cheap when nothing changed.
//!
//! What lives here: [`WatchMode`] (`--watch`), [`run`] (the watch task). What does not:
//! deciding what changed (`deploy`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::deploy::Deployer;
use crate::log;
use crate::registry::FUNCTIONS_DIR;

/// How long after the first event of a burst the folder is read: a copy or a rename makes
/// several events at once.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// How often the watch task looks again after an event-driven scan found the folder
/// unreadable, or when inotify was asked for and the folder did not exist yet.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// `--watch`: how changes of `functions/` are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatchMode {
    /// inotify, unless `functions/` is on NFS or inotify cannot watch it: then polling.
    #[default]
    Auto,
    /// inotify only.
    Inotify,
    /// Polling every `--poll-interval-ms`.
    Poll,
}

impl WatchMode {
    /// Every mode with its `--watch` value.
    pub const ALL: [(WatchMode, &'static str); 3] = [
        (WatchMode::Auto, "auto"),
        (WatchMode::Inotify, "inotify"),
        (WatchMode::Poll, "poll"),
    ];

    /// The mode named `text`.
    pub fn parse(text: &str) -> Option<WatchMode> {
        WatchMode::ALL
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(mode, _)| *mode)
    }
}

/// `NFS_SUPER_MAGIC` of `statfs(2)`.
const NFS_SUPER_MAGIC: i64 = 0x6969;

/// Whether `path` is on an NFS mount (where inotify misses other machines' writes).
fn on_nfs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `name` is a NUL-terminated path and `stats` a zeroed statfs the call fills.
    unsafe {
        let mut stats: libc::statfs = std::mem::zeroed();
        libc::statfs(name.as_ptr(), &mut stats) == 0 && stats.f_type as i64 == NFS_SUPER_MAGIC
    }
}

/// Watches `root/functions` for `deployer` until the task is dropped, in `mode`, polling
/// every `interval` when it polls. Logs which way it watches; an inotify watch that cannot
/// be set up in [`WatchMode::Auto`] falls back to polling (logged), in
/// [`WatchMode::Inotify`] it is logged and retried every [`RETRY_INTERVAL`].
pub async fn run(deployer: Arc<Deployer>, mode: WatchMode, interval: Duration) {
    let folder = deployer.root().join(FUNCTIONS_DIR);
    let poll = match mode {
        WatchMode::Poll => true,
        WatchMode::Auto if on_nfs(&folder) => {
            log::line(format_args!(
                "watch: {} is on NFS: polling",
                folder.display()
            ));
            true
        }
        WatchMode::Auto | WatchMode::Inotify => false,
    };
    if !poll {
        loop {
            match watch_events(&deployer, &folder).await {
                Ok(()) => return,
                Err(error) if mode == WatchMode::Auto => {
                    log::line(format_args!(
                        "watch: inotify cannot watch {}: {error}; polling instead",
                        folder.display()
                    ));
                    break;
                }
                Err(error) => {
                    log::line(format_args!(
                        "watch: inotify cannot watch {}: {error}; retrying",
                        folder.display()
                    ));
                    tokio::time::sleep(RETRY_INTERVAL).await;
                    reconcile(&deployer).await;
                }
            }
        }
    }
    deployer.set_watch("poll");
    log::line(format_args!(
        "watch: polling {} every {} ms",
        folder.display(),
        interval.as_millis()
    ));
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        reconcile(&deployer).await;
    }
}

/// The inotify loop; returns only when the watch could not be set up.
async fn watch_events(deployer: &Arc<Deployer>, folder: &Path) -> notify::Result<()> {
    use notify::Watcher as _;
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let interesting = event.is_ok_and(|event| !event.kind.is_access());
        if interesting {
            let _ = events_tx.send(());
        }
    })?;
    watcher.watch(folder, notify::RecursiveMode::Recursive)?;
    deployer.set_watch("inotify");
    log::line(format_args!("watch: inotify on {}", folder.display()));
    // What changed between the first scan and the watch.
    reconcile(deployer).await;
    while events.recv().await.is_some() {
        tokio::time::sleep(DEBOUNCE).await;
        while events.try_recv().is_ok() {}
        reconcile(deployer).await;
    }
    drop(watcher);
    Ok(())
}

async fn reconcile(deployer: &Deployer) {
    if let Err(error) = deployer.reconcile().await {
        log::line(format_args!("watch: {error}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name() {
        for (mode, name) in WatchMode::ALL {
            assert_eq!(WatchMode::parse(name), Some(mode));
        }
        assert_eq!(WatchMode::parse("fanotify"), None);
    }
}
