//! Skills: multipart `.zip`/`.skill` uploads with a `SKILL.md` front matter.

use std::io::{Cursor, Read};

use serde_json::Value;

use super::conversations::read_file_part;
use super::{Ctx, Reply, created, no_content, ok};
use crate::error::{ApiResult, EmulatorError};
use crate::ids;
use crate::state::{Skill, check_id, sorted};

/// Largest skill archive accepted: 32 MiB.
pub const MAX_SKILL_BYTES: usize = 32 * 1024 * 1024;
const ALLOWED_FOLDERS: [&str; 3] = ["scripts", "references", "assets"];

/// What a valid archive declares.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SkillPackage {
    pub name: String,
    pub description: String,
    pub warnings: Vec<String>,
}

fn bad(msg: impl Into<String>) -> EmulatorError {
    EmulatorError::bad_request(msg)
}

/// Skill names: lowercase letters, digits and hyphens, ≤ 64, no `--`, no leading or trailing `-`.
pub(crate) fn check_skill_name(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.contains("--")
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "invalid skill name {name:?}: use lowercase letters, digits and single hyphens, at most 64 characters, \
             not starting or ending with a hyphen"
        )))
    }
}

/// A string field of the front matter: absent or empty (`name:`) is `None`.
fn text_field(m: &serde_norway::Mapping, key: &str) -> ApiResult<Option<String>> {
    match m.get(key) {
        None | Some(serde_norway::Value::Null) => Ok(None),
        Some(serde_norway::Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(bad(format!(
            "SKILL.md front matter: {key} must be a string"
        ))),
    }
}

/// Reads `name` and `description` from the YAML front matter between the first two `---`
/// lines (any valid YAML: comments, quoted and block scalars, other keys).
pub(crate) fn front_matter(text: &str) -> ApiResult<(Option<String>, Option<String>)> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err(bad("SKILL.md must start with YAML front matter (---)"));
    }
    let mut yaml = String::new();
    let mut closed = false;
    for l in lines {
        if l.trim_end() == "---" {
            closed = true;
            break;
        }
        yaml.push_str(l);
        yaml.push('\n');
    }
    if !closed {
        return Err(bad("SKILL.md front matter is not closed with ---"));
    }
    let value: serde_norway::Value = serde_norway::from_str(&yaml)
        .map_err(|e| bad(format!("SKILL.md front matter is not valid YAML: {e}")))?;
    match value {
        serde_norway::Value::Null => Ok((None, None)),
        serde_norway::Value::Mapping(m) => {
            Ok((text_field(&m, "name")?, text_field(&m, "description")?))
        }
        _ => Err(bad("SKILL.md front matter must be a YAML mapping")),
    }
}

/// Validates an uploaded archive against the package requirements.
pub(crate) fn parse_package(filename: &str, data: &[u8]) -> ApiResult<SkillPackage> {
    let lower = filename.to_ascii_lowercase();
    if !(lower.ends_with(".zip") || lower.ends_with(".skill")) {
        return Err(bad("skill archive must be a .zip or .skill file"));
    }
    if data.len() > MAX_SKILL_BYTES {
        return Err(bad(format!(
            "skill archive too large: the limit is 32 MB ({MAX_SKILL_BYTES} bytes)"
        )));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|_| bad("skill archive is not a valid zip file"))?;
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let f = zip
            .by_index(i)
            .map_err(|_| bad("skill archive is not a valid zip file"))?;
        let name = f
            .name()
            .map_err(|_| bad("skill archive has an unreadable file name"))?
            .to_string();
        if name.starts_with("__MACOSX/") || name.ends_with(".DS_Store") {
            continue;
        }
        names.push(name);
    }
    let root = if names.iter().any(|n| n == "SKILL.md") {
        String::new()
    } else {
        let nested: Vec<&String> = names
            .iter()
            .filter(|n| n.ends_with("/SKILL.md") && n.matches('/').count() == 1)
            .collect();
        match nested.as_slice() {
            [one] => one.trim_end_matches("SKILL.md").to_string(),
            [] => {
                return Err(bad(
                    "SKILL.md not found at the archive root or in a single top-level folder",
                ));
            }
            _ => {
                return Err(bad(
                    "skill archive contains more than one top-level folder with a SKILL.md",
                ));
            }
        }
    };
    let skill_md_path = format!("{root}SKILL.md");
    let mut text = String::new();
    {
        let f = zip
            .by_name(&skill_md_path)
            .map_err(|_| bad("SKILL.md could not be read"))?;
        f.take(1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|_| bad("SKILL.md must be UTF-8 text"))?;
    }
    let (name, description) = front_matter(&text)?;
    let name = name.ok_or_else(|| bad("SKILL.md front matter must include name"))?;
    let description =
        description.ok_or_else(|| bad("SKILL.md front matter must include description"))?;
    check_skill_name(&name)?;
    if description.trim().is_empty() {
        return Err(bad("skill description must not be empty"));
    }
    if description.chars().count() > 1024 {
        return Err(bad("skill description must be at most 1024 characters"));
    }
    let mut warnings = Vec::new();
    for n in &names {
        let Some(rel) = n.strip_prefix(&root) else {
            continue;
        };
        if let Some((folder, _)) = rel.split_once('/')
            && !ALLOWED_FOLDERS.contains(&folder)
        {
            let w =
                format!("unexpected folder {folder}/ (expected scripts/, references/ or assets/)");
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    Ok(SkillPackage {
        name,
        description,
        warnings,
    })
}

fn skill_id(id: &str) -> ApiResult<String> {
    check_id(id, "ask_", "skill")
}

pub(crate) fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    ok(Value::Array(
        sorted(org.skills.values(), |s| s.seq)
            .into_iter()
            .map(Skill::json)
            .collect(),
    ))
}

async fn upload(ctx: &Ctx) -> ApiResult<SkillPackage> {
    let (filename, _ct, data) = read_file_part(ctx, MAX_SKILL_BYTES, "32 MB").await?;
    parse_package(&filename, &data)
}

pub(crate) async fn create(ctx: &Ctx) -> ApiResult<Reply> {
    let pkg = upload(ctx).await?;
    let mut w = ctx.app.lock();
    let seq = w.next_seq();
    let org = w.org(&ctx.key)?;
    if org.skills.values().any(|s| s.name == pkg.name) {
        return Err(bad(format!("a skill named {} already exists", pkg.name)));
    }
    let now = ids::now();
    let s = Skill {
        id: ids::new_id("ask_"),
        name: pkg.name,
        description: pkg.description,
        warnings: pkg.warnings,
        created_at: now,
        updated_at: now,
        seq,
    };
    let v = s.json();
    org.skills.insert(s.id.clone(), s);
    created(v)
}

pub(crate) fn get(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*skill_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    let s = org
        .skills
        .get(id)
        .ok_or_else(|| EmulatorError::not_found("skill not found"))?;
    ok(s.json())
}

pub(crate) async fn put(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*skill_id(id)?;
    {
        let mut w = ctx.app.lock();
        let org = w.org(&ctx.key)?;
        if !org.skills.contains_key(id) {
            return Err(EmulatorError::not_found("skill not found"));
        }
    }
    let pkg = upload(ctx).await?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    if org
        .skills
        .values()
        .any(|s| s.name == pkg.name && s.id != id)
    {
        return Err(bad(format!("a skill named {} already exists", pkg.name)));
    }
    let s = org
        .skills
        .get_mut(id)
        .ok_or_else(|| EmulatorError::not_found("skill not found"))?;
    s.name = pkg.name;
    s.description = pkg.description;
    s.warnings = pkg.warnings;
    s.updated_at = ids::now();
    ok(s.json())
}

pub(crate) fn delete(ctx: &Ctx, id: &str) -> ApiResult<Reply> {
    let id = &*skill_id(id)?;
    let mut w = ctx.app.lock();
    let org = w.org(&ctx.key)?;
    if !org.skills.contains_key(id) {
        return Err(EmulatorError::not_found("skill not found"));
    }
    let n = org.assigned_count("agent_artifact_skill", id);
    if n > 0 {
        return Err(bad(format!(
            "cannot delete skill: still assigned to {n} agent(s)"
        )));
    }
    org.skills.remove(id);
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_skill_name("pdf-tools2").is_ok());
        for bad_name in ["", "-a", "a-", "a--b", "A", "a_b", &"a".repeat(65)] {
            assert!(check_skill_name(bad_name).is_err(), "{bad_name}");
        }
    }

    #[test]
    fn front_matter_variants() {
        let (n, d) =
            front_matter("---\nname: \"x\"\ndescription: >\n  one\n  two\n---\nbody").unwrap();
        assert_eq!(n.as_deref(), Some("x"));
        assert_eq!(d.as_deref(), Some("one two"));
        assert!(front_matter("no front matter").is_err());
        assert!(front_matter("---\nname: x\n").is_err());
    }
}
