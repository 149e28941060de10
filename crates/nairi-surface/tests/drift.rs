//! The committed generated files are what the current core generates (`make codegen`).

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `$ref` of `doc` points at a definition of `doc` that exists.
fn assert_references_resolve(doc: &serde_json::Value) {
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        let (map, name) = target.split_once('/').unwrap();
        assert!(
            doc[map].get(name).is_some(),
            "dangling reference #/{target}"
        );
    }
}

#[test]
fn surface_json_is_up_to_date() {
    assert!(
        read(nairi_surface::SURFACE_PATH) == nairi_surface::surface_json(),
        "spec/surface.json is stale: run `make codegen` and commit the result"
    );
}

#[test]
fn emulator_json_is_up_to_date() {
    assert!(
        read(nairi_surface::EMULATOR_PATH) == nairi_surface::emulator_json(),
        "spec/emulator.json is stale: run `make codegen` and commit the result"
    );
}

#[test]
fn the_emulator_schemas_resolve_and_keep_the_control_forms() {
    let emulator = nairi_surface::emulator();
    assert_references_resolve(&emulator);
    let inputs = &emulator["input_schemas"];
    // Seeds and faults refuse unknown keys, as the emulator does.
    assert_eq!(inputs["Fault"]["additionalProperties"], false);
    assert_eq!(
        inputs["Fault"]["required"],
        serde_json::json!(["path_prefix"])
    );
    assert_eq!(inputs["ScriptedTurn"]["additionalProperties"], false);
    // Every field of a scripted turn has a default.
    assert!(inputs["ScriptedTurn"].get("required").is_none());
    let logged = &emulator["output_schemas"]["LoggedRequest"];
    assert!(
        logged["required"]
            .as_array()
            .unwrap()
            .contains(&"status".into())
    );
}

#[test]
fn the_readme_table_is_up_to_date() {
    let readme = read(nairi_surface::README_PATH);
    let expected = nairi_surface::with_table(&readme).expect("the README has the table markers");
    assert!(
        readme == expected,
        "the README's API table is stale: run `make codegen` and commit the result"
    );
}

#[test]
fn the_surface_lists_every_operation_with_resolvable_schemas() {
    let surface = nairi_surface::surface();
    let ops = surface["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 54);
    assert_references_resolve(&surface);
    let update = ops.iter().find(|o| o["id"] == "agents.update").unwrap();
    assert_eq!(update["body"]["model"], "UpdateAgent");
    assert_eq!(update["path_params"], serde_json::json!(["agent_id"]));
    // A request model refuses unknown keys; a response model keeps them.
    assert_eq!(
        surface["input_schemas"]["UpdateAgent"]["additionalProperties"],
        false
    );
    assert_eq!(
        surface["output_schemas"]["Agent"]["additionalProperties"],
        true
    );
    // Open enums: known values or any string.
    let status = &surface["output_schemas"]["MessageStatus"]["anyOf"];
    assert_eq!(status[0]["enum"][0], "queued");
    assert_eq!(status[1], serde_json::json!({"type": "string"}));
    let classes = surface["errors"]["classes"].as_array().unwrap();
    assert!(
        classes
            .iter()
            .any(|c| c["class"] == "NotFoundError" && c["status"] == 404)
    );
}
