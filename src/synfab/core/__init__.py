"""Platform core: settings, database, unit of work, event bus, errors, i18n. Imports no context."""
