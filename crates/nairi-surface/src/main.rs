//! `make codegen`: writes `spec/surface.json`, `spec/emulator.json` and the README's API table.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let surface = root.join(nairi_surface::SURFACE_PATH);
    if let Err(e) = std::fs::write(&surface, nairi_surface::surface_json()) {
        eprintln!("cannot write {}: {e}", surface.display());
        return ExitCode::FAILURE;
    }
    let emulator = root.join(nairi_surface::EMULATOR_PATH);
    if let Err(e) = std::fs::write(&emulator, nairi_surface::emulator_json()) {
        eprintln!("cannot write {}: {e}", emulator.display());
        return ExitCode::FAILURE;
    }
    let readme_path = root.join(nairi_surface::README_PATH);
    let readme = match std::fs::read_to_string(&readme_path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {}: {e}", readme_path.display());
            return ExitCode::FAILURE;
        }
    };
    let Some(updated) = nairi_surface::with_table(&readme) else {
        eprintln!(
            "{} has no generated table: add the lines {:?} and {:?}",
            readme_path.display(),
            nairi_surface::TABLE_BEGIN,
            nairi_surface::TABLE_END
        );
        return ExitCode::FAILURE;
    };
    if let Err(e) = std::fs::write(&readme_path, updated) {
        eprintln!("cannot write {}: {e}", readme_path.display());
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {}, {} and the table in {}",
        surface.display(),
        emulator.display(),
        readme_path.display()
    );
    ExitCode::SUCCESS
}
