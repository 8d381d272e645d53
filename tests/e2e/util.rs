//! Helpers: a scratch directory per test, configs that point at the shipped datasets, and the
//! binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("orchestrator has a parent")
        .to_path_buf()
}

/// A scratch directory in which a test writes configs and studies.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` as `name` in the scratch directory; `{data}` becomes the data directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(
            &p,
            text.replace("{data}", &repo().join("configs/data").display().to_string()),
        )
        .expect("write");
        p
    }

    /// `cohort ARGS` run in the scratch directory.
    pub fn cohort(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cohort"));
        c.args(args)
            .current_dir(self.path())
            .env_remove("RUST_LOG")
            .env_remove("COHORT_FAULT");
        c
    }

    /// Run `cohort ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cohort(args).output().expect("run cohort")
    }
}

/// `cohort sweep CONFIG --study-dir st --workers 2 ARGS…`, its trainers misbehaving as `fault` says
/// (see `COHORT_FAULT`), stdout and stderr captured.
pub fn sweep_cmd(s: &Scratch, config: &Path, fault: &str, args: &[&str]) -> Command {
    let mut c = s.cohort(&[
        "sweep",
        config.to_str().expect("utf-8 path"),
        "--study-dir",
        "st",
        "--workers",
        "2",
    ]);
    c.args(args)
        .env("COHORT_FAULT", fault)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout parsed as JSON, with the output shown on failure.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// A small, fast classification sweep on breast_cancer: `extra` is appended (more sections).
pub fn quick_config(sampler: &str) -> String {
    format!(
        r#"
[study]
name = "quick"
seed = 5
metric = "accuracy"
metrics = ["log_loss"]

[data]
path = "{{data}}/breast_cancer.csv"
target = "label"

[model]
name = "logistic_regression"

[cv]
folds = 3

[search]
{sampler}

[search.space]
C = [0.01, 0.1, 1.0, 10.0]
fit_intercept = [true, false]
"#
    )
}

/// Assert the exit status, showing the output when it is not what was expected.
pub fn assert_status(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Process ids of the live children of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        if ppid == pid && state != "Z" {
            out.push(p);
        }
    }
    out
}

/// Whether a process exists (zombies count as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rfind(')').is_some_and(|i| !s[i + 2..].starts_with('Z')))
}

/// Send `sig` to `pid`.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid and a signal number.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// (trial, state, attempts, finished_at) of every trial in a study, read directly from SQLite.
pub fn trial_rows(study: &Path) -> Vec<(i64, String, i64, Option<f64>)> {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        study.join("study.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
    let Ok(mut stmt) =
        conn.prepare("SELECT trial, state, attempts, finished_at FROM trials ORDER BY trial")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

/// Wait until `cond` holds, up to `secs` seconds; false if it never did.
pub fn wait_for(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Wait for a child process with a deadline; kill it and fail if it hangs.
pub fn wait_output(mut child: std::process::Child, secs: f64) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let o = child.wait_with_output().expect("output");
    panic!(
        "cohort hung for {secs}s\nstdout:\n{}\nstderr:\n{}",
        stdout(&o),
        stderr(&o)
    );
}

/// Inodes of the memfds (`/memfd:` mappings) a process maps.
pub fn memfd_inodes(pid: u32) -> Vec<u64> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut out: Vec<u64> = maps
        .lines()
        .filter(|l| l.contains("/memfd:"))
        .filter_map(|l| l.split_whitespace().nth(4)?.parse().ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Processes that map a memfd with this inode.
pub fn mapped_by(inode: u64) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| memfd_inodes(*p).contains(&inode))
        .collect()
}

/// A running `cohort` whose stderr is read as it comes, so a test can wait for a log line
/// instead of sleeping.
pub struct Watched {
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Watched {
    /// Start `cmd` with stdout and stderr piped; stderr is collected line by line.
    pub fn spawn(mut cmd: Command) -> Watched {
        use std::io::BufRead;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn cohort");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut l = sink.lock().expect("log lock");
                l.push_str(&line);
                l.push('\n');
            }
        });
        Watched {
            child,
            log,
            reader: Some(reader),
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Wait until stderr has a line containing `needle`, up to `secs`; false if it never came.
    pub fn wait_for_line(&self, needle: &str, secs: f64) -> bool {
        wait_for(secs, || self.log.lock().expect("log lock").contains(needle))
    }

    /// Wait for it to exit (failing the test if it hangs past `secs`), with all its output.
    pub fn finish(mut self, secs: f64) -> Output {
        let mut o = wait_output_keep(&mut self.child, secs);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        o.stderr = self.log.lock().expect("log lock").clone().into_bytes();
        o
    }
}

/// Like `wait_output`, for a child whose stderr is read elsewhere.
fn wait_output_keep(child: &mut std::process::Child, secs: f64) -> Output {
    use std::io::Read;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    let mut hung = true;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            hung = false;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if hung {
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    assert!(!hung, "cohort hung for {secs}s");
    Output {
        status,
        stdout,
        stderr: Vec::new(),
    }
}
