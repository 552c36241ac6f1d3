"""The instance store on files (SPEC 4.1): the one implementation of host.workflows.store's
InstanceStore, and the only code that knows the data directory's layout. The engine gets a
store handed to it; nothing in host.workflows imports this package."""
