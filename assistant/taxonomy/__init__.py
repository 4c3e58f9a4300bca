"""Service categories, target groups and areas (contract codes) from ``catalog/taxonomy.yaml``."""

from assistant.taxonomy.model import Area, Category, Group, Taxonomy, get_taxonomy, load_taxonomy

__all__ = ["Area", "Category", "Group", "Taxonomy", "get_taxonomy", "load_taxonomy"]
