"""Matching: embedders, vector + BM25 indexes, need extraction, eligibility, fusion, rerank, reasons."""
