"""Storage: TinyDB behind small repository classes. Faces never touch TinyDB directly."""
