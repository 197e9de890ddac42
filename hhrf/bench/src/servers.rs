//! The programs under test and the servers the wrk rows load: where the artifacts are
//! ([`Artifacts`]), the work folder every run shares ([`Workspace`]: an hhrf root with the
//! hello function deployed twice, sandboxed and not; lighttpd's configuration and CGI
//! program; limit A's scratch folder), and starting and stopping one server ([`Server`]).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// The programs and the library the benchmark runs.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// This program (for `limit-b-server` and `loop`).
    pub bench: PathBuf,
    /// The reference runner, release build.
    pub runner: PathBuf,
    /// The host server, release build.
    pub hhrf: PathBuf,
    /// `examples/hello-c` built as `libhello_c.so`.
    pub library: PathBuf,
    /// The hello function's manifest (`examples/hello-c/fezz.json`).
    pub manifest: PathBuf,
    /// Another build to compare with in the same run (`--baseline DIR`).
    pub baseline: Option<Baseline>,
}

/// The `hhrf` and `fezz-runner` of another build (say, of the main branch), whose rows run
/// alternating with this build's.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Its hhrf.
    pub hhrf: PathBuf,
    /// Its runner.
    pub runner: PathBuf,
}

/// The user runners switch to when hhrf runs as root (its default `--runner-user`).
pub const RUNNER_USER: (u32, u32) = (61792, 61792);

/// Whether this process runs as root (then hhrf's runners switch user, and so do limit A's).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The folder every run uses: removed when dropped.
pub struct Workspace {
    /// The temporary folder.
    pub dir: tempfile::TempDir,
    /// The hhrf root (`functions/hello-c@1`, `functions/hello-c-open@1`).
    pub hhrf_root: PathBuf,
    /// The deployed sandboxed hello library (limit A loads this copy too).
    pub library: PathBuf,
    /// Limit A's scratch folder (`TMPDIR`).
    pub scratch: PathBuf,
    /// lighttpd's document root, holding `hello.cgi`.
    pub www: PathBuf,
}

/// The C CGI program of the peer row: the hello function's answer, by CGI.
pub const CGI_SOURCE: &str = r#"#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *path = getenv("PATH_INFO");
    if (path == NULL || *path == '\0') path = "/";
    printf("Content-Type: text/plain; charset=utf-8\r\nX-Accept-Count: 0\r\n\r\n"
           "hello world from C at %s\n", path);
    return 0;
}
"#;

impl Workspace {
    /// Deploys the hello function three times into a new hhrf root (`hello-c@1` as its
    /// manifest says, sandboxed; `hello-c-open@1` with `"sandbox": {"enabled": false}`;
    /// `hello-c-warm@1` sandboxed with `"mode": "warm"`), and builds
    /// the CGI program with `cc` when `peer` is wanted.
    pub fn create(artifacts: &Artifacts, peer: bool) -> anyhow::Result<Workspace> {
        let dir = tempfile::Builder::new().prefix("fezz-bench-").tempdir()?;
        set_mode(dir.path(), 0o755)?;
        let hhrf_root = dir.path().join("root");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&artifacts.manifest)?)
                .context("reading the hello manifest")?;
        let mut library = PathBuf::new();
        for (id, sandbox) in [
            ("hello-c", true),
            ("hello-c-open", false),
            ("hello-c-warm", true),
        ] {
            let folder = hhrf_root.join("functions").join(format!("{id}@1"));
            std::fs::create_dir_all(&folder)?;
            let mut manifest = manifest.clone();
            manifest["id"] = id.into();
            manifest["version"] = "1".into();
            if !sandbox {
                manifest["sandbox"] = serde_json::json!({"enabled": false});
            }
            if id == "hello-c-warm" {
                manifest["mode"] = "warm".into();
            }
            std::fs::write(folder.join("fezz.json"), manifest.to_string())?;
            let entry = manifest["entry"].as_str().unwrap_or("libhello_c.so");
            std::fs::copy(&artifacts.library, folder.join(entry))?;
            if id == "hello-c" {
                library = folder.join(entry);
            }
        }
        set_mode(&hhrf_root, 0o755)?;
        set_mode(&hhrf_root.join("functions"), 0o755)?;
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch)?;
        if is_root() {
            std::os::unix::fs::chown(&scratch, Some(RUNNER_USER.0), Some(RUNNER_USER.1))?;
        }
        let www = dir.path().join("www");
        std::fs::create_dir(&www)?;
        set_mode(&www, 0o755)?;
        if peer {
            let source = dir.path().join("hello-cgi.c");
            std::fs::write(&source, CGI_SOURCE)?;
            let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_owned()))
                .args(["-O2", "-o"])
                .arg(www.join("hello.cgi"))
                .arg(&source)
                .status()
                .context("compiling the CGI hello with cc")?;
            if !status.success() {
                bail!("compiling the CGI hello failed ({status})");
            }
        }
        Ok(Workspace {
            dir,
            hhrf_root,
            library,
            scratch,
            www,
        })
    }
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One server process under test.
pub struct Server {
    child: Child,
    /// The URL wrk loads.
    pub url: String,
    log: PathBuf,
}

/// Which server to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `fezz-bench limit-b-server`.
    LimitB,
    /// lighttpd with mod_cgi.
    Peer,
    /// hhrf serving hello-c (`sandbox`: the sandboxed deployment or the open one).
    Fezz {
        /// Which deployment.
        sandbox: bool,
        /// Whether the baseline build serves it.
        baseline: bool,
        /// The warm-mode deployment (`hello-c-warm@1`, sandboxed) instead.
        warm: bool,
    },
}

impl Server {
    /// Starts `kind` on a free port and waits until it answers the hello request with 200.
    pub fn start(
        kind: ServerKind,
        artifacts: &Artifacts,
        work: &Workspace,
    ) -> anyhow::Result<Server> {
        let port = free_port()?;
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let name = match kind {
            ServerKind::LimitB => "limit-b",
            ServerKind::Peer => "lighttpd",
            ServerKind::Fezz { .. } => "hhrf",
        };
        let log = work.dir.path().join(format!("{name}-{port}.log"));
        let log_file = std::fs::File::create(&log)?;
        let (mut command, path) = match kind {
            ServerKind::LimitB => {
                let mut command = Command::new(&artifacts.bench);
                command.arg("limit-b-server").arg(address.to_string());
                (command, "/world".to_owned())
            }
            ServerKind::Peer => {
                let conf = work.dir.path().join(format!("lighttpd-{port}.conf"));
                std::fs::write(&conf, lighttpd_conf(&work.www, port))?;
                let mut command = Command::new(lighttpd()?);
                command.arg("-D").arg("-f").arg(conf);
                (command, "/hello.cgi/world".to_owned())
            }
            ServerKind::Fezz {
                sandbox,
                baseline,
                warm,
            } => {
                let (hhrf, runner) = match (&artifacts.baseline, baseline) {
                    (Some(other), true) => (&other.hhrf, &other.runner),
                    (None, true) => bail!("fezz-baseline needs --baseline"),
                    (_, false) => (&artifacts.hhrf, &artifacts.runner),
                };
                let mut command = Command::new(hhrf);
                command
                    .arg("--root")
                    .arg(&work.hhrf_root)
                    .arg("--listen")
                    .arg(address.to_string())
                    .env("FEZZ_RUNNER", runner);
                let id = match (warm, sandbox) {
                    (true, _) => "hello-c-warm",
                    (false, true) => "hello-c",
                    (false, false) => "hello-c-open",
                };
                (command, format!("/rpc/{id}@1/world"))
            }
        };
        // SAFETY: the closure runs between fork and exec and only makes one system call
        // (async-signal-safe): a server dies with the benchmark even if it is killed.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let mut server = Server {
            child,
            url: format!("http://{address}{path}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("{name} exited at start ({status}): {}", server.log_text());
            }
            if get_ok(address, &path) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let text = server.log_text();
                server.stop();
                bail!("{name} did not answer 200 within 15 s: {text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = text.chars().rev().take(2000).collect();
        tail.chars().rev().collect()
    }

    /// SIGTERM, then SIGKILL after 5 s; reaps it.
    pub fn stop(&mut self) {
        // SAFETY: kill takes integers; the child is not reaped yet, so its pid is ours.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// The lighttpd program (`/usr/sbin` is not always on `PATH`).
fn lighttpd() -> anyhow::Result<PathBuf> {
    let mut places: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    places.extend(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()]);
    places
        .into_iter()
        .map(|dir| dir.join("lighttpd"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!("lighttpd is not installed (bash hhrf/bench/run.sh installs it)")
        })
}

/// lighttpd's configuration: mod_cgi for `.cgi` files in `www`, on 127.0.0.1:`port`, as
/// `nobody` when started as root (as hhrf's runners switch to an unprivileged user); its
/// error log is its stderr (the server's log file).
pub fn lighttpd_conf(www: &Path, port: u16) -> String {
    let mut conf = format!(
        "server.document-root = \"{}\"\n\
         server.bind = \"127.0.0.1\"\n\
         server.port = {port}\n\
         server.modules = ( \"mod_cgi\" )\n\
         cgi.assign = ( \".cgi\" => \"\" )\n\
         server.max-connections = 1024\n\
         server.max-keep-alive-requests = 100000\n",
        www.display(),
    );
    if is_root() {
        conf.push_str("server.username = \"nobody\"\nserver.groupname = \"nogroup\"\n");
    }
    conf
}

/// Whether `GET path` on `address` answers 200.
fn get_ok(address: SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200") && answer.windows(11).any(|window| window == b"hello world")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lighttpd_configuration_serves_cgi_on_loopback() {
        let conf = lighttpd_conf(Path::new("/w"), 8080);
        assert!(conf.contains("server.port = 8080"));
        assert!(conf.contains("server.bind = \"127.0.0.1\""));
        assert!(conf.contains("cgi.assign = ( \".cgi\" => \"\" )"));
        assert!(conf.contains("server.document-root = \"/w\""));
    }
}
