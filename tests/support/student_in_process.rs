//! The student loaded in process, for the tests that drive the backend directly
//! (declare `student_gguf` beside this module).

use flowc::models::mistralrs_backend::MistralRsBackend;
use flowc::plan::fingerprint::file_sha256;

pub async fn load() -> MistralRsBackend {
    let path = crate::student_gguf::model_file();
    let digest = file_sha256(&path).expect("the model file reads");
    MistralRsBackend::load(&path, digest).await.expect("the model loads")
}
