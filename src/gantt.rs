//! (stand-in until the renderer lands)
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bar { pub component: String, pub transition: String, pub behavior: String, pub start: f64, pub end: f64, pub critical: bool, pub failed: bool }
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeline { pub title: String, pub makespan: f64, pub bars: Vec<Bar> }
