//! The inspector crate against real Node processes: discovery, attaching three ways
//! (including SIGUSR1), capturing a snapshot that shows the leak, profiles that parse, and
//! the failures a person meets — a closed port, a target that dies mid-capture, a pid that
//! is not Node, a remote address.

mod support;

use std::time::Duration;

use heapscope_analysis::Analysis;
use heapscope_inspector::snapshot::{take_snapshot, SnapshotObserver, SnapshotOptions};
use heapscope_inspector::{
    attach, eval, procs, profile, AttachOptions, Attached, InspectorError, TargetSpec,
};
use support::{closed_port, temp_dir, NodeChild};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn attach_to(spec: TargetSpec) -> Result<Attached, InspectorError> {
    let options = AttachOptions {
        allow_remote: false,
        timeout: TIMEOUT,
        notice: &|_| {},
    };
    attach(&spec, &options).await
}

fn class_count(snapshot: &std::path::Path, class: &str) -> u64 {
    let bytes = std::fs::read(snapshot).unwrap();
    let raw = heapscope_format::load_bytes(&bytes).expect("the captured snapshot loads");
    let analysis = Analysis::new(raw, &|_| {});
    analysis
        .classes
        .iter()
        .filter(|c| c.name == class)
        .map(|c| c.count)
        .sum()
}

#[tokio::test]
async fn snapshot_by_pid_shows_the_leak() {
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "3000")],
    );
    let found = procs::node_process(node.pid())
        .unwrap()
        .expect("recognised as node");
    assert!(found.cmdline.iter().any(|a| a.ends_with("leaky.js")));
    assert!(found.rss_bytes > 0);
    assert!(!found.listening.is_empty());
    assert!(
        found.listening.iter().all(|a| a.ip().is_loopback()),
        "nothing listens beyond loopback: {:?}",
        found.listening
    );
    let port = node
        .host_port()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    assert!(
        found.listening.iter().any(|a| a.port() == port),
        "inspector port found from /proc"
    );

    let mut attached = attach_to(TargetSpec::Pid(node.pid())).await.unwrap();
    assert!(!attached.opened_inspector);
    let dir = temp_dir("leak");
    let out = dir.join("leak.heapsnapshot");
    let capture = take_snapshot(
        &mut attached.client,
        &out,
        SnapshotOptions {
            collect_garbage: true,
        },
        &mut (),
    )
    .await
    .unwrap();
    assert_eq!(capture.path, out);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), capture.bytes);
    assert!(!dir.join("leak.heapsnapshot.part").exists());
    assert_eq!(class_count(&out, "LiveLeakRecord"), 3000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_target_can_write_the_snapshot_itself() {
    use heapscope_inspector::node_write::{plan, write_in_target, InTarget, Placement};
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "1500")],
    );
    let mut attached = attach_to(TargetSpec::Pid(node.pid())).await.unwrap();
    // Our own child, our user, our file system: it can fill our `.part` file.
    assert_eq!(plan(node.pid(), attached.addr), Ok(Placement::Direct));
    let dir = temp_dir("in-target");
    for placement in [Placement::Direct, Placement::TargetTemp] {
        let out = dir.join(format!("{placement:?}.heapsnapshot"));
        let mut sizes = Vec::new();
        let written = write_in_target(
            &mut attached.client,
            node.pid(),
            placement,
            &out,
            &mut |b| sizes.push(b),
        )
        .await
        .unwrap();
        let InTarget::Written(capture) = written else {
            panic!("{placement:?}: the target did not write")
        };
        assert_eq!(std::fs::metadata(&out).unwrap().len(), capture.bytes);
        assert!(!dir
            .join(format!("{placement:?}.heapsnapshot.part"))
            .exists());
        assert_eq!(class_count(&out, "LiveLeakRecord"), 1500);
    }
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("heapscope-{}-", node.pid()))
        })
        .count();
    assert_eq!(leftovers, 0, "the target's copy is removed");
    // A directory the target cannot write: refused with its own error, nothing left.
    let out = dir.join("missing-dir/x.heapsnapshot");
    let err = write_in_target(
        &mut attached.client,
        node.pid(),
        Placement::Direct,
        &out,
        &mut |_| {},
    )
    .await
    .err()
    .expect("our own .part cannot be created either");
    assert!(err.to_string().contains("cannot create"), "{err}");
    let refused = write_in_target(
        &mut attached.client,
        node.pid() + 1_000_000,
        Placement::Direct,
        &dir.join("y.heapsnapshot"),
        &mut |_| {},
    )
    .await
    .unwrap();
    let InTarget::Refused(why) = refused else {
        panic!("a wrong pid must be refused")
    };
    assert!(
        why.contains(&format!("not {}", node.pid() + 1_000_000)),
        "{why}"
    );
    assert!(!dir.join("y.heapsnapshot").exists());

    // A target whose temp directory does not exist: its exception is the reason given.
    let no_tmp = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "healthy.js",
        &[("TMPDIR", "/nonexistent-heapscope-tmp")],
    );
    let mut attached = attach_to(TargetSpec::Pid(no_tmp.pid())).await.unwrap();
    let out = dir.join("z.heapsnapshot");
    let refused = write_in_target(
        &mut attached.client,
        no_tmp.pid(),
        Placement::TargetTemp,
        &out,
        &mut |_| {},
    )
    .await
    .unwrap();
    let InTarget::Refused(why) = refused else {
        panic!("writing into a missing directory must be refused")
    };
    assert!(
        why.contains("could not write /nonexistent-heapscope-tmp/") && why.contains("ENOENT"),
        "{why}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn snapshot_of_healthy_process_holds_no_records() {
    let node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let mut attached = attach_to(TargetSpec::HostPort(node.host_port()))
        .await
        .unwrap();
    let usage = heapscope_inspector::memory::memory_usage(&mut attached.client)
        .await
        .unwrap();
    assert!(usage.heap_used > 0 && usage.heap_used <= usage.heap_total);
    let dir = temp_dir("healthy");
    let out = dir.join("healthy.heapsnapshot");
    take_snapshot(
        &mut attached.client,
        &out,
        SnapshotOptions::default(),
        &mut (),
    )
    .await
    .unwrap();
    // The inspector can interrupt a tick mid-loop, leaving its last record on the stack;
    // a leak would hold thousands (it creates 500 per tick).
    assert!(class_count(&out, "HealthyRecord") < 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sigusr1_opens_the_inspector_of_a_process_started_without_one() {
    // --inspect-port=0 only chooses the port SIGUSR1 will open (an OS-chosen one, so tests
    // never collide on 9229); the process starts with no inspector.
    let node = NodeChild::start(&["--inspect-port=0"], "healthy.js", &[]);
    assert!(procs::node_process(node.pid())
        .unwrap()
        .unwrap()
        .listening
        .is_empty());
    let notices = std::sync::Mutex::new(Vec::new());
    let record = |text: &str| notices.lock().unwrap().push(text.to_string());
    let options = AttachOptions {
        allow_remote: false,
        timeout: TIMEOUT,
        notice: &record,
    };
    let mut attached = attach(&TargetSpec::Pid(node.pid()), &options)
        .await
        .unwrap();
    assert!(attached.opened_inspector);
    assert!(notices.lock().unwrap()[0].contains("SIGUSR1"));
    let pid: i32 = eval::evaluate(&mut attached.client, "process.pid")
        .await
        .unwrap();
    assert_eq!(pid, node.pid());
    // `require` comes from the command-line API, so watch-style expressions work.
    let heap_limit: u64 = eval::evaluate(
        &mut attached.client,
        "require('v8').getHeapStatistics().heap_size_limit",
    )
    .await
    .unwrap();
    assert!(heap_limit > 0);
}

#[tokio::test]
async fn cpu_and_sampling_profiles_parse_and_name_the_hot_function() {
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "500")],
    );
    let ws_url = node.ws_url.clone().unwrap();
    let mut attached = attach_to(TargetSpec::WsUrl(ws_url)).await.unwrap();
    let dir = temp_dir("profiles");
    let cpu_path = profile::cpu_profile(
        &mut attached.client,
        &dir.join("p.cpuprofile"),
        profile::CpuProfileOptions {
            duration: Duration::from_millis(1500),
            interval: Duration::from_micros(500),
        },
    )
    .await
    .unwrap();
    let cpu = heapscope_inspector::cpuprofile::parse(&std::fs::read(&cpu_path).unwrap()).unwrap();
    let top = heapscope_inspector::top::by_function(&cpu);
    // The busiest function of the program: usually spinHotLoop, or the timer callback when
    // V8 has compiled the loop into it and charges it the samples (on a starved machine
    // possibly allocateShortLived); each with its exact position.
    let hot = top
        .iter()
        .find(|r| r.frame.url.ends_with("leaky.js"))
        .expect("leaky.js sampled");
    assert!(hot.self_value > 0, "{hot:?}");
    let location = hot.frame.location().unwrap();
    let known = ["leaky.js:20:21", "leaky.js:27:28", "leaky.js:33:13"];
    assert!(known.iter().any(|k| location.ends_with(k)), "{location}");

    let heap_path = profile::sampling_heap_profile(
        &mut attached.client,
        &dir.join("p.heapprofile"),
        profile::SamplingOptions {
            duration: Duration::from_millis(1500),
            interval_bytes: 4096,
            include_collected: true,
        },
    )
    .await
    .unwrap();
    let heap =
        heapscope_inspector::heapprofile::parse(&std::fs::read(&heap_path).unwrap()).unwrap();
    assert!(heap.total() > 0);
    let top = heapscope_inspector::top::by_function(&heap);
    assert!(top
        .iter()
        .any(|r| r.frame.url.ends_with("leaky.js") && r.self_value > 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_second_session_works_alongside_the_first() {
    // Node (since v10) accepts several protocol sessions at once, so heapscope can attach
    // while DevTools is open; both must keep working.
    let node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let mut first = attach_to(TargetSpec::HostPort(node.host_port()))
        .await
        .unwrap();
    let mut second = attach_to(TargetSpec::Pid(node.pid())).await.unwrap();
    let a: i32 = eval::evaluate(&mut first.client, "process.pid")
        .await
        .unwrap();
    let b: i32 = eval::evaluate(&mut second.client, "process.pid")
        .await
        .unwrap();
    assert_eq!((a, b), (node.pid(), node.pid()));
}

#[tokio::test]
async fn closed_port_is_a_clear_error() {
    let port = closed_port();
    let err = attach_to(TargetSpec::HostPort(format!("127.0.0.1:{port}")))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, InspectorError::ConnectionRefused { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("nothing listens on 127.0.0.1"));
}

#[tokio::test]
async fn remote_addresses_are_refused_without_contacting_them() {
    let err = attach_to(TargetSpec::HostPort("192.0.2.1:9229".into()))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, InspectorError::NotLoopback { .. }), "{err}");
    let err = attach_to(TargetSpec::WsUrl("ws://192.0.2.1:9229/x".into()))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, InspectorError::NotLoopback { .. }), "{err}");
}

#[tokio::test]
async fn a_pid_that_is_not_node_is_refused_and_not_signalled() {
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let err = attach_to(TargetSpec::Pid(sleeper.id() as i32))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, InspectorError::NotNode { .. }), "{err}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        sleeper.try_wait().unwrap().is_none(),
        "sleep must not have received SIGUSR1"
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[tokio::test]
async fn an_exited_process_is_a_clear_error() {
    let mut node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let (pid, host_port) = (node.pid(), node.host_port());
    node.kill();
    let err = attach_to(TargetSpec::Pid(pid)).await.err().unwrap();
    assert!(matches!(err, InspectorError::NoSuchProcess { .. }), "{err}");
    let err = attach_to(TargetSpec::HostPort(host_port))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, InspectorError::ConnectionRefused { .. }),
        "{err}"
    );
}

/// Kills the target as soon as the first snapshot chunk has been written.
struct KillOnFirstChunk {
    pid: i32,
    killed: bool,
}

impl SnapshotObserver for KillOnFirstChunk {
    fn written(&mut self, _bytes: u64) {
        if !self.killed {
            self.killed = true;
            // SAFETY: kill(2) takes plain integers; the pid is our own child's.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

#[tokio::test]
async fn a_target_killed_mid_capture_leaves_no_file() {
    // A heap large enough that serialisation takes many chunks.
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "200000"), ("LEAK_BATCH", "50000")],
    );
    let mut attached = attach_to(TargetSpec::Pid(node.pid())).await.unwrap();
    let dir = temp_dir("killed");
    let out = dir.join("killed.heapsnapshot");
    let mut observer = KillOnFirstChunk {
        pid: node.pid(),
        killed: false,
    };
    let err = take_snapshot(
        &mut attached.client,
        &out,
        SnapshotOptions::default(),
        &mut observer,
    )
    .await
    .err()
    .expect("the capture fails");
    assert!(observer.killed);
    assert!(matches!(err, InspectorError::Closed { .. }), "{err}");
    assert!(err.to_string().contains("did the process exit"));
    assert!(!out.exists() && !dir.join("killed.heapsnapshot.part").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
