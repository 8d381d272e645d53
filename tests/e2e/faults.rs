//! A trainer that crashes, hangs or runs out of memory costs one trial attempt, never the study.

use crate::util::*;

fn sweep_with(fault: &str, run_section: &str) -> (Scratch, serde_json::Value) {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        &format!(
            "{}\n[run]\n{run_section}\n",
            quick_config("sampler = \"grid\"")
        ),
    );
    let child = sweep_cmd(&s, &c, fault, &["--json"]).spawn().unwrap();
    let o = wait_output(child, 120.0);
    assert_status(&o, 0);
    let v = json(&o);
    (s, v)
}

fn trial(v: &serde_json::Value, n: u64) -> &serde_json::Value {
    v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trial"] == n)
        .unwrap()
}

fn others_complete(v: &serde_json::Value, except: &[u64]) {
    for t in v["trials"].as_array().unwrap() {
        if !except.contains(&t["trial"].as_u64().unwrap()) {
            assert_eq!(t["state"], "complete", "{t}");
        }
    }
}

#[test]
fn a_trainer_that_exits_or_segfaults_mid_trial_costs_one_attempt_and_the_trial_is_retried() {
    let (_s, v) = sweep_with("exit@2#1,segv@4#1", "retries = 2");
    others_complete(&v, &[]);
    assert_eq!(trial(&v, 2)["attempts"], 2);
    assert_eq!(trial(&v, 4)["attempts"], 2);
    assert_eq!(trial(&v, 0)["attempts"], 1);
}

#[test]
fn a_trial_whose_trainer_keeps_dying_fails_after_its_retries() {
    let (_s, v) = sweep_with("exit@3", "retries = 1");
    let t = trial(&v, 3);
    assert_eq!(t["state"], "failed");
    assert_eq!(t["attempts"], 2);
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .contains("exited with status 3"),
        "{t}"
    );
    others_complete(&v, &[3]);
}

#[test]
fn a_trial_past_its_timeout_is_killed_and_recorded_as_timed_out() {
    let (_s, v) = sweep_with("hang@1", "timeout = \"1s\"");
    let t = trial(&v, 1);
    assert_eq!(t["state"], "timed_out", "{t}");
    assert_eq!(t["attempts"], 1);
    others_complete(&v, &[1]);
}

#[test]
fn a_trial_over_the_memory_cap_is_recorded_as_out_of_memory() {
    let (_s, v) = sweep_with("oom@5", "memory = \"512MiB\"");
    let t = trial(&v, 5);
    assert_eq!(t["state"], "out_of_memory", "{t}");
    others_complete(&v, &[5]);
}

#[test]
fn killing_random_trainers_repeatedly_still_completes_every_trial_exactly_once() {
    let s = Scratch::new();
    let text = quick_config("sampler = \"random\"\ntrials = 30").replace(
        "C = [0.01, 0.1, 1.0, 10.0]",
        "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }",
    ) + "\n[run]\nretries = 20\n";
    let c = s.write("c.toml", &text);
    let child = sweep_cmd(&s, &c, "sleep60@*", &["--json"]).spawn().unwrap();
    let pid = child.id();
    let mut kills = 0;
    let mut rng = 12345u64;
    while kills < 12 && alive(pid) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let kids = children(pid);
        if kids.is_empty() {
            continue;
        }
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        signal(kids[(rng >> 33) as usize % kids.len()], libc::SIGKILL);
        kills += 1;
    }
    let o = wait_output(child, 120.0);
    assert_status(&o, 0);
    let v = json(&o);
    let trials = v["trials"].as_array().unwrap();
    let mut numbers: Vec<u64> = trials
        .iter()
        .map(|t| t["trial"].as_u64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (0..30).collect::<Vec<_>>(),
        "every trial exactly once"
    );
    assert!(
        trials.iter().all(|t| t["state"] == "complete"),
        "{trials:?}"
    );
    let attempts: u64 = trials.iter().map(|t| t["attempts"].as_u64().unwrap()).sum();
    assert!(kills >= 5, "only {kills} kills happened");
    assert!(attempts > 30, "no kill landed mid-trial ({kills} kills)");
}
