//! Running ONNX Runtime forwards on a worker thread of their own, so that a cancel returns at
//! once. ONNX Runtime checks its terminate flag between graph nodes only, and one 3D convolution
//! of the released network at full resolution takes about 2 s on 2 CPU cores: the caller's
//! [`Worker::run`] polls for the cancel every [`POLL`] and returns `Error::Cancelled` as soon as it
//! is asked, while the terminated run ends on the worker after its node. The next forward first
//! waits for that stale run (its result is dropped, its input buffer kept).
//!
//! Inputs and outputs ([`IoPath`]): on the CPU ONNX Runtime reads the session's input buffer in
//! place; on CUDA the input is staged into one page-locked tensor bound once, with a page-locked
//! output bound once, so both transfers run by DMA and nothing patch-sized is allocated per
//! forward. Either way the input buffer comes back with the result, for the next input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{IoBinding, RunOptions, Session as OrtSession, SessionOutputs};
use ort::value::{Tensor, TensorRef};
use parking_lot::Mutex;

use super::Interrupt;
use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

/// How often a waiting forward looks for a cancel.
pub const POLL: Duration = Duration::from_millis(20);

/// The cancel of an ONNX Runtime forward: each run has run options of its own, whose terminate
/// flag stops it between nodes; a run once terminated stays so (a later rearm concerns the next
/// run only).
#[derive(Default)]
pub struct OrtInterrupt {
    interrupted: AtomicBool,
    current: Mutex<Option<Arc<RunOptions>>>,
}

impl OrtInterrupt {
    /// Whether a cancel was asked since the last rearm.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Whether a forward is running now.
    pub fn running(&self) -> bool {
        self.current.lock().is_some()
    }

    /// Run options for a new run, terminated already if a cancel is pending.
    fn begin(&self) -> Result<Arc<RunOptions>> {
        let options =
            Arc::new(RunOptions::new().map_err(|e| Error::Runtime(format!("run options: {e}")))?);
        *self.current.lock() = Some(options.clone());
        if self.interrupted() {
            let _ = options.terminate();
        }
        Ok(options)
    }

    fn end(&self) {
        *self.current.lock() = None;
    }
}

impl Interrupt for OrtInterrupt {
    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        if let Some(options) = self.current.lock().as_ref() {
            let _ = options.terminate();
        }
    }

    fn rearm(&self) {
        self.interrupted.store(false, Ordering::SeqCst);
    }
}

/// How a forward's input and output reach ONNX Runtime.
pub enum IoPath {
    /// The session's buffer read in place; the output allocated by ONNX Runtime.
    InPlace,
    /// Copied into an input tensor bound once; the output bound once. The tensors live in
    /// `memory` (page-locked host memory on CUDA) and are made at the first forward.
    Staged {
        /// Where the staged tensors are allocated.
        memory: MemoryInfo<'static>,
        /// The tensors and binding, once made.
        bound: Option<Box<Staged>>,
    },
}

impl IoPath {
    /// Staged through page-locked host memory (for CUDA).
    pub fn pinned() -> Result<Self> {
        Self::staged_in(AllocationDevice::CUDA_PINNED, MemoryType::CPUInput)
    }

    /// Staged through plain host memory, as on CUDA through page-locked memory (for tests of
    /// that path on the CPU).
    pub fn host_staged() -> Result<Self> {
        Self::staged_in(AllocationDevice::CPU, MemoryType::Default)
    }

    fn staged_in(device: AllocationDevice<'static>, kind: MemoryType) -> Result<Self> {
        let memory = MemoryInfo::new(device, 0, AllocatorType::Device, kind)
            .map_err(|e| Error::Runtime(format!("staging memory: {e}")))?;
        Ok(IoPath::Staged {
            memory,
            bound: None,
        })
    }
}

/// The tensors and binding of [`IoPath::Staged`].
pub struct Staged {
    binding: IoBinding,
    input: Tensor<f32>,
}

/// What runs forwards: the ONNX Runtime session and its inputs and outputs.
pub struct Runner {
    /// The opened model.
    pub session: OrtSession,
    /// Input and output path.
    pub io: IoPath,
    /// The model's metadata (tensor names, patch size).
    pub meta: ModelMetadata,
    /// The cancel.
    pub interrupt: Arc<OrtInterrupt>,
}

impl Runner {
    /// One forward: the argmax mask of `input` (`shape` = `[1, C, p0, p1, p2]`).
    fn forward(&mut self, input: &[f32], shape: [usize; 5]) -> Result<Vec<u8>> {
        let options = self.interrupt.begin()?;
        let result = match self.io {
            IoPath::InPlace => self.run_in_place(input, shape, &options),
            IoPath::Staged { .. } => self.run_staged(input, shape, &options),
        };
        self.interrupt.end();
        result
    }

    /// The input read in place, the output allocated by ONNX Runtime.
    fn run_in_place(
        &mut self,
        input: &[f32],
        shape: [usize; 5],
        options: &RunOptions,
    ) -> Result<Vec<u8>> {
        let tensor = TensorRef::from_array_view((shape, input))
            .map_err(|e| Error::Inference(e.to_string()))?;
        let outputs = self
            .session
            .run_with_options(
                ort::inputs![self.meta.input_name.as_str() => tensor],
                options,
            )
            .map_err(|e| run_error(&self.interrupt, e))?;
        argmax(&outputs, &self.meta)
    }

    /// The input copied into the staged input tensor, the output into the staged output tensor.
    fn run_staged(
        &mut self,
        input: &[f32],
        shape: [usize; 5],
        options: &RunOptions,
    ) -> Result<Vec<u8>> {
        let IoPath::Staged { memory, bound } = &mut self.io else {
            unreachable!("run_staged on the in-place path");
        };
        if bound.is_none() {
            let runtime = |e: ort::Error| Error::Runtime(e.to_string());
            let allocator = Allocator::new(&self.session, memory.clone())
                .map_err(|e| Error::Runtime(format!("cannot make the staging allocator: {e}")))?;
            let p = self.meta.patch_size;
            let out_shape = [1usize, 2, p[0], p[1], p[2]];
            let oom = |what: &str, e: ort::Error| {
                Error::OutOfMemory(format!("the network's {what} (float32): {e}"))
            };
            let staged_input =
                Tensor::<f32>::new(&allocator, shape).map_err(|e| oom("input", e))?;
            let output = Tensor::<f32>::new(&allocator, out_shape).map_err(|e| oom("output", e))?;
            let mut binding = self.session.create_binding().map_err(runtime)?;
            binding
                .bind_input(self.meta.input_name.as_str(), &staged_input)
                .map_err(runtime)?;
            binding
                .bind_output(self.meta.output_name.as_str(), output)
                .map_err(runtime)?;
            *bound = Some(Box::new(Staged {
                binding,
                input: staged_input,
            }));
        }
        let staged = bound.as_mut().expect("made above");
        let (_, dst) = staged
            .input
            .try_extract_tensor_mut::<f32>()
            .map_err(|e| Error::Inference(e.to_string()))?;
        dst.copy_from_slice(input);
        // Bound again so that ONNX Runtime sees the new contents on every device.
        staged
            .binding
            .bind_input(self.meta.input_name.as_str(), &staged.input)
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let outputs = self
            .session
            .run_binding_with_options(&staged.binding, options);
        let outputs = match outputs {
            Ok(o) => o,
            Err(e) => return Err(run_error(&self.interrupt, e)),
        };
        argmax(&outputs, &self.meta)
    }
}

/// The error of a run: cancelled when `interrupt` stopped it.
fn run_error(interrupt: &OrtInterrupt, e: ort::Error) -> Error {
    if interrupt.interrupted() {
        Error::Cancelled
    } else {
        Error::Inference(e.to_string())
    }
}

/// The foreground mask of a run's `[1, 2, p0, p1, p2]` logits: `logit1 > logit0`.
fn argmax(outputs: &SessionOutputs<'_>, meta: &ModelMetadata) -> Result<Vec<u8>> {
    let out = outputs
        .get(meta.output_name.as_str())
        .ok_or_else(|| Error::Inference("the network produced no output".into()))?;
    let p = meta.patch_size;
    let n = p[0] * p[1] * p[2];
    let (oshape, data) = out
        .try_extract_tensor::<f32>()
        .map_err(|e| Error::Inference(e.to_string()))?;
    if data.len() != 2 * n {
        return Err(Error::Model(format!(
            "network output has shape {oshape:?}, expected [1, 2, {p:?}]"
        )));
    }
    let (bg, fg) = data.split_at(n);
    Ok(bg.iter().zip(fg).map(|(b, f)| u8::from(f > b)).collect())
}

/// A forward asked of the worker.
struct Job {
    input: Vec<f32>,
    shape: [usize; 5],
}

/// A forward's result, with its input buffer handed back.
struct Done {
    input: Vec<f32>,
    result: Result<Vec<u8>>,
}

/// The worker thread that owns the [`Runner`], and the forward it may still run after a cancel.
pub struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    done: mpsc::Receiver<Done>,
    interrupt: Arc<OrtInterrupt>,
    /// A cancelled forward still running on the worker (its result is not wanted).
    stale: bool,
}

impl Worker {
    /// Start the worker thread with `runner`.
    pub fn spawn(runner: Runner) -> Result<Self> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel::<Done>();
        let interrupt = runner.interrupt.clone();
        let thread = std::thread::Builder::new()
            .name("nni-onnxruntime".into())
            .spawn(move || {
                let mut runner = runner;
                for job in job_rx {
                    let result =
                        catch_unwind(AssertUnwindSafe(|| runner.forward(&job.input, job.shape)))
                            .unwrap_or_else(|_| {
                                Err(Error::Inference("ONNX Runtime's forward panicked".into()))
                            });
                    if done_tx
                        .send(Done {
                            input: job.input,
                            result,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            })
            .map_err(|e| Error::Runtime(format!("cannot start ONNX Runtime's worker: {e}")))?;
        Ok(Worker {
            jobs: Some(jobs),
            thread: Some(thread),
            done,
            interrupt,
            stale: false,
        })
    }

    /// Whether a cancelled forward is still running on the worker.
    pub fn busy_with_a_cancelled_forward(&self) -> bool {
        self.stale
    }

    /// Run one forward on the worker; returns its input buffer (when it came back) and the mask.
    /// A cancel returns `Error::Cancelled` within [`POLL`], leaving the run to end on the worker.
    pub fn run(&mut self, input: Vec<f32>, shape: [usize; 5]) -> (Vec<f32>, Result<Vec<u8>>) {
        let stopped = || Error::Inference("ONNX Runtime's worker has stopped".into());
        if let Err(e) = self.settle() {
            return (input, Err(e));
        }
        let Some(jobs) = &self.jobs else {
            return (input, Err(stopped()));
        };
        if let Err(mpsc::SendError(job)) = jobs.send(Job { input, shape }) {
            return (job.input, Err(stopped()));
        }
        loop {
            match self.done.recv_timeout(POLL) {
                Ok(done) => return (done.input, done.result),
                Err(RecvTimeoutError::Timeout) => {
                    if self.interrupt.interrupted() {
                        self.stale = true;
                        return (Vec::new(), Err(Error::Cancelled));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return (Vec::new(), Err(stopped())),
            }
        }
    }

    /// Wait for a cancelled forward still running (it was terminated: it ends after its node);
    /// its result and input buffer are dropped (the caller brings a buffer of its own).
    fn settle(&mut self) -> Result<()> {
        if self.stale {
            self.done
                .recv()
                .map_err(|_| Error::Inference("ONNX Runtime's worker has stopped".into()))?;
            self.stale = false;
        }
        Ok(())
    }
}

impl Drop for Worker {
    /// Ends the worker: a cancelled forward still running was terminated and ends after its
    /// node, which this waits for (so no ONNX Runtime work outlives the network).
    fn drop(&mut self) {
        if self.stale {
            self.interrupt.interrupt();
        }
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
