"""PDF documents: templates rendered to HTML and converted by wkhtmltopdf (see service.py)."""

from vigie.pdf.service import PdfResult, pdf_response, render_pdf

__all__ = ["PdfResult", "pdf_response", "render_pdf"]
