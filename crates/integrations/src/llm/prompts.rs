//! The prompts, kept as template files in `crates/integrations/prompts/`
//! (MiniJinja, no auto-escaping: they are plain text for a model).

use minijinja::Environment;
use serde::Serialize;

/// Every prompt, compiled once.
pub struct Prompts {
    env: Environment<'static>,
}

impl Prompts {
    /// Loads the templates.
    ///
    /// # Errors
    /// When a template does not parse (a bug, caught by the tests).
    pub fn load() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_trim_blocks(true);
        for (name, source) in [
            ("system", include_str!("../../prompts/system.txt")),
            ("research", include_str!("../../prompts/research.txt")),
            ("qualify", include_str!("../../prompts/qualify.txt")),
            ("draft", include_str!("../../prompts/draft.txt")),
        ] {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// Renders prompt `name` with `context`.
    ///
    /// # Errors
    /// When the context lacks what the template needs.
    pub fn render(&self, name: &str, context: impl Serialize) -> anyhow::Result<String> {
        Ok(self.env.get_template(name)?.render(context)?)
    }
}
