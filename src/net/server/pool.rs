//! Threads for connections, reused: a finished connection's thread waits a moment for the next one
//! instead of exiting, so a stream of short connections does not pay for a thread start and teardown
//! each (nor for a cold stack). Idle threads leave after [`LINGER`], so none stay behind a burst.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long an idle thread waits for more work before it exits.
pub(crate) const LINGER: Duration = Duration::from_millis(500);

type Job = Box<dyn FnOnce() + Send>;

/// A pool that grows on demand and shrinks when idle.
pub(crate) struct Pool {
    jobs: Mutex<Sender<Job>>,
    queue: Arc<Mutex<Receiver<Job>>>,
    /// Waiting threads not yet promised a job. A job is only queued after taking one of these.
    idle: Arc<AtomicUsize>,
}

impl Default for Pool {
    fn default() -> Self {
        let (tx, rx) = channel();
        Pool {
            jobs: Mutex::new(tx),
            queue: Arc::new(Mutex::new(rx)),
            idle: Arc::new(AtomicUsize::new(0)),
        }
    }
}

fn take_one(idle: &AtomicUsize) -> bool {
    idle.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Pool {
    /// Runs `job` on an idle thread, or on a new one.
    pub(crate) fn run(&self, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let job: Job = Box::new(job);
        if take_one(&self.idle) {
            // An idle thread is promised this job; it is waiting on the queue.
            let sent = self
                .jobs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(job);
            return sent.map_err(|_| std::io::Error::other("thread pool closed"));
        }
        let queue = self.queue.clone();
        let idle = self.idle.clone();
        std::thread::Builder::new()
            .spawn(move || worker(job, &queue, &idle))
            .map(|_| ())
    }
}

fn worker(first: Job, queue: &Mutex<Receiver<Job>>, idle: &AtomicUsize) {
    first();
    loop {
        idle.fetch_add(1, Ordering::SeqCst);
        let next = queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recv_timeout(LINGER);
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if take_one(idle) {
                    return; // no job was promised to this thread: leave
                }
                // Every idle slot is promised: a job is on its way to this thread.
                match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn reuses_threads_and_runs_every_job() {
        let pool = Pool::default();
        let (tx, rx) = channel();
        for i in 0..200 {
            let tx = tx.clone();
            pool.run(move || tx.send((i, std::thread::current().id())).unwrap())
                .unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        let mut threads = std::collections::HashSet::new();
        for _ in 0..200 {
            let (i, t) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            seen.insert(i);
            threads.insert(t);
        }
        assert_eq!(seen.len(), 200);
        assert!(threads.len() < 200, "threads were reused");
    }
}
