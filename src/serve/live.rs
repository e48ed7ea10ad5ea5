//! The index as a long-running server sees it: the generation the manifest names, open in a
//! few readers, and switched for a newer one when a build (`akapit index` in another
//! process, or `--watch`) publishes it. A request takes the generation current when it
//! starts and uses it to the end, so its answer comes from one generation, and a switch
//! never fails it: the old generation's files stay readable while they are open, even
//! after the build deletes them.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::SystemTime;

use super::queue::Queue;
use crate::embed::Model;
use crate::store::{self, Index, Manifest};

/// Readers opened per generation: requests beyond this many at once wait for one.
pub const READERS: usize = 8;

/// Loads (or returns the already loaded) model an index was built with, checked against the
/// manifest; the message says why it cannot.
pub type ModelLoader = Box<dyn Fn(&Manifest) -> Result<&'static Model, String> + Send + Sync>;

/// One published generation, open for reading.
pub struct Generation {
    pub manifest: Manifest,
    readers: Mutex<Vec<Index>>,
    returned: Condvar,
    /// The model the generation was built with, behind the server's queue.
    pub embedder: Arc<Queue>,
    /// Whether its files match their checksums: checked once, on the first `status`.
    damage: OnceLock<Option<String>>,
}

/// A reader borrowed from a generation's pool; it goes back when dropped.
pub struct Reader<'g> {
    index: Option<Index>,
    generation: &'g Generation,
}

impl Deref for Reader<'_> {
    type Target = Index;
    fn deref(&self) -> &Index {
        self.index
            .as_ref()
            .expect("a reader holds its index until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(index) = self.index.take() {
            lock(&self.generation.readers).push(index);
            self.generation.returned.notify_one();
        }
    }
}

impl Generation {
    /// A reader of this generation, waiting for one if all are in use.
    pub fn reader(&self) -> Reader<'_> {
        let mut pool = lock(&self.readers);
        loop {
            if let Some(index) = pool.pop() {
                return Reader {
                    index: Some(index),
                    generation: self,
                };
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// What is damaged in this generation's files, if anything (read once, then remembered:
    /// a generation's files never change).
    pub fn damage(&self) -> Option<String> {
        self.damage
            .get_or_init(|| self.reader().verify().err().map(|e| e.to_string()))
            .clone()
    }
}

/// The manifest file's identity: when it changes, a build has published.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    bytes: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp {
            bytes: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }
}

/// The index folder, its current generation and how to load its model.
pub struct Live {
    dir: PathBuf,
    current: RwLock<Option<Arc<Generation>>>,
    stamp: Mutex<Option<Stamp>>,
    /// Why there is no current generation (or why the newest could not be opened).
    problem: Mutex<Option<String>>,
    loader: ModelLoader,
}

impl Live {
    pub fn new(dir: PathBuf, loader: ModelLoader) -> Live {
        Live {
            dir,
            current: RwLock::new(None),
            stamp: Mutex::new(None),
            problem: Mutex::new(None),
            loader,
        }
    }

    /// The generation to answer a request with, or why there is none.
    pub fn current(&self) -> Result<Arc<Generation>, Option<String>> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current.clone().ok_or_else(|| lock(&self.problem).clone())
    }

    /// Switches to the generation the manifest names if it is not the current one. Cheap
    /// when nothing changed (one `stat`). Returns the name of a generation switched to.
    pub fn refresh(&self) -> Option<String> {
        let manifest_path = self.dir.join(store::MANIFEST_FILE);
        let stamp = Stamp::of(&manifest_path);
        if stamp.is_some() && *lock(&self.stamp) == stamp {
            return None;
        }
        let manifest = match Manifest::read(&self.dir) {
            Ok(Some(manifest)) => manifest,
            Ok(None) => return None,
            Err(e) => {
                self.set_problem(e.to_string());
                return None;
            }
        };
        let previous = self.current().ok();
        if previous
            .as_ref()
            .is_some_and(|p| p.manifest.generation == manifest.generation)
        {
            *lock(&self.stamp) = stamp;
            return None;
        }
        match self.open(manifest, previous.as_deref()) {
            Ok(generation) => {
                let name = generation.manifest.generation.clone();
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(generation));
                *lock(&self.stamp) = stamp;
                *lock(&self.problem) = None;
                Some(name)
            }
            // Not retried until the manifest changes again (a model that cannot be loaded
            // would otherwise be tried 4 times a second). A build that published again and
            // deleted what this manifest named has changed it: the next refresh reads the
            // newer one. Meanwhile the previous generation serves.
            Err(message) => {
                *lock(&self.stamp) = stamp;
                self.set_problem(message);
                None
            }
        }
    }

    fn set_problem(&self, message: String) {
        *lock(&self.problem) = Some(message);
    }

    fn open(
        &self,
        manifest: Manifest,
        previous: Option<&Generation>,
    ) -> Result<Generation, String> {
        // Checked (sizes, and the vector file's checksum) once; the others reopen its files.
        let first =
            Index::open_generation(&self.dir, manifest.clone()).map_err(|e| e.to_string())?;
        let mut readers = (1..READERS)
            .map(|_| first.reopen())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        readers.push(first);
        let embedder = match previous {
            Some(p) if p.manifest.model == manifest.model => p.embedder.clone(),
            _ => Arc::new(Queue::start((self.loader)(&manifest)?)),
        };
        Ok(Generation {
            manifest,
            readers: Mutex::new(readers),
            returned: Condvar::new(),
            embedder,
            damage: OnceLock::new(),
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
