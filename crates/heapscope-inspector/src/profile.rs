//! Recording a CPU profile (`Profiler.start`/`stop`, saved as `.cpuprofile`) and a sampling
//! heap profile (`HeapProfiler.startSampling`/`stopSampling`, saved as `.heapprofile`).
//! Both files are the protocol's profile object verbatim, which is what DevTools loads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::atomic::AtomicFile;
use crate::cdp::CdpClient;
use crate::error::{InspectorError, Result};

#[derive(Clone, Copy, Debug)]
pub struct CpuProfileOptions {
    pub duration: Duration,
    /// Sampling interval; V8's default is 1000 µs in Node.
    pub interval: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct SamplingOptions {
    pub duration: Duration,
    /// Average bytes between samples (V8's default is 32 KiB).
    pub interval_bytes: u64,
    /// Also report allocations that were garbage-collected before the profile ended
    /// (DevTools' "include objects discarded by major/minor GC").
    pub include_collected: bool,
}

#[derive(Deserialize)]
struct ProfileResult {
    profile: Box<RawValue>,
}

/// Records a CPU profile for `duration` and writes it to `out`.
pub async fn cpu_profile(
    client: &mut CdpClient,
    out: &Path,
    options: CpuProfileOptions,
) -> Result<PathBuf> {
    let file = AtomicFile::create(out)?;
    start_cpu_profile(client, options.interval).await?;
    tokio::time::sleep(options.duration).await;
    finish_cpu_profile(client, file, options.duration).await
}

/// Starts recording a CPU profile; [`stop_cpu_profile`] ends it. Split in two so a caller
/// (`watch`) can keep using the session while the profile records.
pub async fn start_cpu_profile(client: &mut CdpClient, interval: Duration) -> Result<()> {
    client
        .call::<serde_json::Value>("Profiler.enable", json!({}))
        .await?;
    let interval_us = interval.as_micros().max(1) as u64;
    client
        .call::<serde_json::Value>(
            "Profiler.setSamplingInterval",
            json!({ "interval": interval_us }),
        )
        .await?;
    client
        .call::<serde_json::Value>("Profiler.start", json!({}))
        .await
        .map(drop)
}

/// Stops the CPU profile started by [`start_cpu_profile`] `recorded` ago and writes it to
/// `out`.
pub async fn stop_cpu_profile(
    client: &mut CdpClient,
    out: &Path,
    recorded: Duration,
) -> Result<PathBuf> {
    let file = match AtomicFile::create(out) {
        Ok(file) => file,
        Err(e) => {
            // Stop anyway: a profiler left running costs the target CPU until it detaches.
            let _ = client
                .call::<serde_json::Value>("Profiler.stop", json!({}))
                .await;
            return Err(e);
        }
    };
    finish_cpu_profile(client, file, recorded).await
}

async fn finish_cpu_profile(
    client: &mut CdpClient,
    file: AtomicFile,
    recorded: Duration,
) -> Result<PathBuf> {
    let result: ProfileResult =
        stop_with_timeout(client, "Profiler.stop", json!({}), recorded).await?;
    let _ = client
        .call::<serde_json::Value>("Profiler.disable", json!({}))
        .await;
    save(file, &result.profile)
}

/// Records a sampling heap profile for `duration` and writes it to `out`.
pub async fn sampling_heap_profile(
    client: &mut CdpClient,
    out: &Path,
    options: SamplingOptions,
) -> Result<PathBuf> {
    let file = AtomicFile::create(out)?;
    client
        .call::<serde_json::Value>("HeapProfiler.enable", json!({}))
        .await?;
    let mut params = json!({ "samplingInterval": options.interval_bytes });
    if options.include_collected {
        params["includeObjectsCollectedByMajorGC"] = json!(true);
        params["includeObjectsCollectedByMinorGC"] = json!(true);
    }
    client
        .call::<serde_json::Value>("HeapProfiler.startSampling", params)
        .await?;
    tokio::time::sleep(options.duration).await;
    let result: ProfileResult = stop_with_timeout(
        client,
        "HeapProfiler.stopSampling",
        json!({}),
        options.duration,
    )
    .await?;
    save(file, &result.profile)
}

/// Stopping serialises the whole profile in the target, which grows with the recording's
/// length; allow for that on top of the usual deadline.
async fn stop_with_timeout(
    client: &mut CdpClient,
    method: &str,
    params: serde_json::Value,
    recorded: Duration,
) -> Result<ProfileResult> {
    let previous = client.idle_timeout;
    client.idle_timeout = previous + recorded;
    let result = client.call(method, params).await;
    client.idle_timeout = previous;
    result
}

fn save(mut file: AtomicFile, profile: &RawValue) -> Result<PathBuf> {
    if !profile.get().starts_with('{') {
        return Err(InspectorError::BadMessage {
            context: "in the recorded profile".into(),
            detail: "the profile is not an object".into(),
        });
    }
    file.write(profile.get().as_bytes())?;
    file.commit()
}
