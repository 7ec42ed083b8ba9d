"""The live knowledge store: entries, versions, embeddings and the vector index."""
