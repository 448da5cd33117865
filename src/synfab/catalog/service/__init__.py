"""Catalog use cases: units and conversions, materials, BOMs, routings, external codes.

One module per subject; everything is imported from here (`from synfab.catalog import service`).
"""

from synfab.catalog.service.boms import (
    ExplodedLine, WhereUsedLine, bom_query, boms_of, check_bom_cycles, count_released_boms, create_bom,
    effective_bom, explode_bom, find_bom_cycles, get_bom, obsolete_bom, release_bom, update_bom, where_used,
)
from synfab.catalog.service.external import (
    CodeIndex, code_index, external_ids_for, get_external_id, list_external_ids, map_external_id, remove_external_id,
    resolve_external_id, resolve_material, resolve_unit,
)
from synfab.catalog.service.materials import (
    active_material, class_subtree_ids, count_active_materials, create_material, create_material_class, get_material,
    get_material_class, list_material_classes, material_by_code, material_query, update_material,
    update_material_class,
)
from synfab.catalog.service.routings import (
    create_routing, effective_routing, get_routing, obsolete_routing, release_routing, routing_query,
    routings_of, update_routing,
)
from synfab.catalog.service.units import (
    UnitConverter, add_conversion, convert, create_unit, get_unit, list_conversions, list_units,
    remove_conversion, update_unit,
)

__all__ = [
    "CodeIndex", "code_index", "ExplodedLine", "UnitConverter", "WhereUsedLine", "add_conversion", "bom_query", "boms_of",
    "check_bom_cycles", "class_subtree_ids", "convert", "count_active_materials", "count_released_boms",
    "create_bom", "create_material", "create_material_class", "create_routing", "create_unit",
    "effective_bom", "effective_routing", "explode_bom", "external_ids_for", "find_bom_cycles", "get_bom",
    "active_material", "get_external_id", "get_material", "get_material_class", "get_routing", "get_unit", "list_conversions",
    "list_external_ids", "list_material_classes", "list_units", "map_external_id", "material_by_code",
    "material_query", "obsolete_bom", "obsolete_routing", "release_bom", "release_routing",
    "remove_conversion", "remove_external_id", "resolve_external_id", "resolve_material", "resolve_unit",
    "routing_query", "routings_of", "update_bom", "update_material", "update_material_class",
    "update_routing", "update_unit", "where_used",
]
