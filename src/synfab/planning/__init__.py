"""Planning: material netting (MRP) and purchase suggestions (`planning.materials`), the always-current dispatch
schedule (`planning.schedule`). The engines write their own tables; the orders and stock they read stay the
records people edit."""
