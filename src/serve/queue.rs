//! The model behind a bounded queue: one thread owns the encoder's work, and texts that
//! arrive while it is busy are embedded together in one batch when it is free (questions
//! asked at the same time share a forward pass). A full queue refuses at once instead of
//! letting a burst of requests pile up in memory.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;

use crate::embed::{Embedder, Error, Model, Role};

/// Requests waiting for the model at most; one more is refused as busy.
pub const QUEUE_DEPTH: usize = 64;

/// Texts embedded in one batch at most (questions are short: 32 fit one forward pass).
const MAX_BATCH_TEXTS: usize = 32;

type Reply = SyncSender<Result<Vec<Vec<f32>>, String>>;

struct Job {
    texts: Vec<String>,
    role: Role,
    reply: Reply,
}

/// An `Embedder` that hands its texts to the model's thread and waits for the vectors.
pub struct Queue {
    model: &'static Model,
    jobs: SyncSender<Job>,
}

impl Queue {
    /// Starts the model's thread; it ends when the last `Queue` handle is dropped.
    pub fn start(model: &'static Model) -> Queue {
        let (jobs, waiting) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        let spawned = thread::Builder::new()
            .name("akapit-embed".into())
            .spawn(move || work(model, waiting));
        if let Err(e) = spawned {
            // Without the thread every request gets `Busy`; say why once.
            crate::ui::Ui::new(false).warn(format!("cannot start the model's thread: {e}"));
        }
        Queue { model, jobs }
    }
}

impl Embedder for Queue {
    fn dims(&self) -> usize {
        self.model.dims()
    }

    fn count_tokens(&self, text: &str, role: Role) -> Result<usize, Error> {
        self.model.count_tokens(text, role)
    }

    fn titled(&self, title: &str, text: &str) -> String {
        self.model.titled(title, text)
    }

    fn embed(
        &self,
        texts: &[&str],
        role: Role,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            texts: texts.iter().map(|t| t.to_string()).collect(),
            role,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(Error::Busy(format!(
                    "{QUEUE_DEPTH} requests are already waiting for it"
                )))
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::Busy("its thread has stopped".into()))
            }
        }
        let vectors = answer
            .recv()
            .map_err(|_| Error::Busy("its thread has stopped".into()))?
            .map_err(Error::Failed)?;
        progress(texts.len());
        Ok(vectors)
    }
}

/// The model's thread: takes the first waiting job, then every job already waiting (up to
/// a batch), embeds each role's texts in one call and answers each job.
fn work(model: &'static Model, waiting: Receiver<Job>) {
    while let Ok(first) = waiting.recv() {
        let mut jobs = vec![first];
        let mut texts = jobs[0].texts.len();
        while texts < MAX_BATCH_TEXTS {
            match waiting.try_recv() {
                Ok(job) => {
                    texts += job.texts.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        for role in [Role::Query, Role::Passage, Role::Titled] {
            let batch: Vec<&Job> = jobs.iter().filter(|j| j.role == role).collect();
            if !batch.is_empty() {
                answer(model, role, &batch);
            }
        }
    }
}

fn answer(model: &Model, role: Role, batch: &[&Job]) {
    let texts: Vec<&str> = batch
        .iter()
        .flat_map(|j| j.texts.iter().map(String::as_str))
        .collect();
    // A panic in the encoder fails these requests, not the server.
    let result = catch_unwind(AssertUnwindSafe(|| model.embed(&texts, role, &mut |_| {})))
        .unwrap_or_else(|_| Err(Error::Failed("the encoder panicked on this input".into())));
    match result {
        Ok(mut vectors) => {
            for job in batch {
                let rest = vectors.split_off(job.texts.len().min(vectors.len()));
                let _ = job.reply.send(Ok(std::mem::replace(&mut vectors, rest)));
            }
        }
        Err(e) => {
            for job in batch {
                let _ = job.reply.send(Err(e.to_string()));
            }
        }
    }
}
