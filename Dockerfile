FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CHATDIRECT_READ_ENV_FILE=0
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
# collectstatic needs settings to import; give it throwaway values that never reach a running container.
RUN DEBUG=0 SECRET_KEY=build-only CHATDIRECT_VAULT_KEYS="build:$(python -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')" \
    python manage.py collectstatic --noinput
RUN useradd --create-home chatdirect && chown -R chatdirect /app/var
USER chatdirect
EXPOSE 8000
CMD ["uvicorn", "chatdirect.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
