# Production image: one process serves HTTP + WebSockets (uvicorn); the same image runs Celery.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_VAR_DIR=/app/var
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home revivatech && mkdir -p /app/var && chown -R revivatech /app/var
USER revivatech
EXPOSE 8000
# No permessage-deflate: its zlib context per socket is most of a tracking socket's memory.
CMD ["uvicorn", "revivatech.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "off", "--proxy-headers", "--ws-per-message-deflate", "false"]
