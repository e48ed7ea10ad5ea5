//! A temporary project folder with a copy of the seeds, and the `akapit` binary run in
//! it; shared by the CLI tests of each model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A temporary project folder with a copy of the seeds.
pub struct Project {
    dir: tempfile::TempDir,
    /// Given to akapit as `AKAPIT_MODEL_DIR`.
    model_dir: Option<PathBuf>,
}

impl Project {
    /// Runs use the default model through `AKAPIT_MODEL_DIR`.
    pub fn new() -> Self {
        Self::with_seeds(Some(super::default_model_dir()))
    }

    /// Runs find the models (Gemma and the default) in the project's own `models/`.
    pub fn with_gemma() -> Self {
        let project = Self::with_seeds(None);
        let models = project.path().join("models");
        std::fs::create_dir(&models).unwrap();
        for located in [super::gemma_model(), super::default_model()] {
            std::os::unix::fs::symlink(&located.dir, models.join(&located.spec.name)).unwrap();
        }
        project
    }

    fn with_seeds(model_dir: Option<PathBuf>) -> Self {
        Self::with_corpus(&super::repo_root().join("seeds"), model_dir)
    }

    /// The files of `folder` (the seeds in another format) copied as the project's `seeds/`.
    pub fn with_documents(folder: &Path) -> Self {
        Self::with_corpus(folder, Some(super::default_model_dir()))
    }

    fn with_corpus(folder: &Path, model_dir: Option<PathBuf>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let seeds = dir.path().join("seeds");
        std::fs::create_dir(&seeds).unwrap();
        for entry in std::fs::read_dir(folder).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), seeds.join(entry.file_name())).unwrap();
        }
        Project { dir, model_dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn seed(&self, prefix: &str) -> PathBuf {
        std::fs::read_dir(self.path().join("seeds"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .expect("seed file")
    }

    /// `akapit ARGS` run in the project folder with the test model.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_akapit"));
        command
            .current_dir(self.path())
            .env("HF_HUB_OFFLINE", "1")
            .env_remove("AKAPIT_INDEX")
            .env_remove("AKAPIT_MODEL_DIR")
            .args(args);
        if let Some(dir) = &self.model_dir {
            command.env("AKAPIT_MODEL_DIR", dir);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("akapit runs")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.code() == Some(0),
            "akapit {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn texts(json: &Value) -> Vec<String> {
    json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect()
}

/// The quality bar plus questions of our own: the expected text in the top 3.
pub const QUALITY: &[(&str, &str)] = &[
    (
        "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?",
        "160 wspólnych działań",
    ),
    (
        "Which Nobel Peace Prize laureate was freed from a Belarusian prison?",
        "Alaś Białacki",
    ),
    (
        "Kiedy Łukaszenko ogłosił, że broń jądrowa dotarła na Białoruś?",
        "1 sierpnia",
    ),
    (
        "What did Prigozhin tell his mercenaries in Belarus?",
        "nie wezmą udziału w wojnie",
    ),
    (
        "Why did Lithuania declare a state of emergency?",
        "stanu nadzwyczajnego",
    ),
    (
        "Kto zaproponował powrót do rozmów o integracji w 2018 roku?",
        "Miedwiediew",
    ),
    (
        "Which other country offered to send troops to Kazakhstan?",
        "Kirgistan",
    ),
    ("When are the Zapad exercises planned?", "10–16 września"),
    // Our own: Polish and English, numbers, names, cross-lingual.
    (
        "Ilu więźniów politycznych wypuścił białoruski reżim?",
        "123 więźniów politycznych",
    ),
    (
        "How large was the loan Russia promised Belarus in 2020?",
        "1 mld dol.",
    ),
    ("Gdzie wybuchły protesty w Kazachstanie?", "Żangaözen"),
    (
        "When did the Russia–Belarus security guarantees treaty enter into force?",
        "13 marca 2025",
    ),
    (
        "Kto jest sekretarzem Rady Bezpieczeństwa Białorusi?",
        "Wolfowicz",
    ),
    (
        "Which ports will Belarusian oil products be redirected to?",
        "Ust-Łudze",
    ),
];
