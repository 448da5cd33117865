"""Orders use cases: customers, sales orders and their lines, work orders with operations copied from routings.

Writes take a unit of work and never commit; reads take a session. The `*_query` functions build the filtered
statements that list pages, the JSON API and the Excel export share. One module per subject; everything is
imported from here (`from synfab.orders import service`).
"""

from synfab.orders.service.common import (  # noqa: F401
    CUSTOMER_SORTS,
    SALES_ORDER_LINE_SORTS,
    SALES_ORDER_SORTS,
    WORK_ORDER_SORTS,
    site_today,
)
from synfab.orders.service.customers import (  # noqa: F401
    create_customer,
    customer_by_code,
    customer_query,
    get_customer,
    list_customers,
    update_customer,
)
from synfab.orders.service.propagation import mark_reviewed  # noqa: F401
from synfab.orders.service.operations import (  # noqa: F401
    consume, get_operation, pause_operation, report_production, resume_operation, start, start_operation,
)
from synfab.orders.service.release import (  # noqa: F401
    line_releasable,
    release_sales_order_line,
    release_work_order,
)
from synfab.orders.service.revisions import (  # noqa: F401
    RevisionsApplied, apply_effective_revisions, apply_revisions_taking_effect, work_orders_due,
)
from synfab.orders.service.sales_orders import (  # noqa: F401
    ORDER_EVENT_TYPES,
    WORK_ORDER_EVENT_TYPES,
    add_sales_order_line,
    cancel_sales_order,
    cancel_sales_order_line,
    change_sales_order_line,
    create_sales_order,
    get_sales_order,
    get_sales_order_line,
    order_status_from_lines,
    order_timeline,
    refresh_sales_order_status,
    sales_order_by_code,
    sales_order_line_query,
    sales_order_query,
    update_sales_order,
)
from synfab.orders.service.work_orders import (  # noqa: F401
    cancel_work_order,
    change_work_order,
    create_work_order,
    get_work_order,
    open_figures,
    production_line_of,
    work_order_by_code,
    work_order_query,
    work_orders_for_lines,
)
from synfab.orders.service.bulk import (  # noqa: F401
    LineIn, OrderIn, SaveResult, save_sales_orders,
)
