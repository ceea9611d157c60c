"""The lab images: which one a host needs (spec), what it is built from (inputs), reusing,
building, pulling and pushing it (store), and showing that on stderr (progress)."""
